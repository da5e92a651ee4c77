//! Removing a chroot folder without reaching through it. debootstrap mounts `proc` (and,
//! in a container, a `dev` with the host's device nodes bound in) and unmounts them when it
//! exits; if it was killed they stay, and a recursive delete would then walk into the
//! host's `/proc` and `/dev`.

use super::debian::run;
use super::{Error, Progress};
use std::path::{Path, PathBuf};
use tokio::process::Command;

/// Removes `dir`: unmounts whatever is still mounted inside, and refuses to delete
/// anything while a mount remains.
pub(super) async fn remove_rootfs(dir: &Path, progress: &Progress<'_>) -> Result<(), Error> {
    let root = dir.canonicalize().map_err(Error::io(dir))?;
    let read = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .map(|t| mounts_under(&t, &root))
            .map_err(Error::io("/proc/self/mountinfo"))
    };
    for mount in read()? {
        progress(&format!(
            "Unmounting {} left mounted in the rootfs.",
            mount.display()
        ));
        run(Command::new("umount").arg("--lazy").arg(&mount)).await?;
    }
    if let Some(mount) = read()?.into_iter().next() {
        return Err(Error::StillMounted { dir: root, mount });
    }
    let path = root.clone();
    tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&path))
        .await
        .map_err(|e| Error::io(&root)(std::io::Error::other(e)))?
        .map_err(Error::io(&root))
}

/// Mount points at or under `root` in `/proc/self/mountinfo` text, deepest first so
/// they can be unmounted in order.
fn mounts_under(mountinfo: &str, root: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape(p)))
        .filter(|p| p.starts_with(root))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found
}

/// mountinfo writes space, tab, newline and backslash in paths as `\ooo` octal.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(c) => {
                out.push(char::from(c));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_inside_the_rootfs_are_found_deepest_first() {
        let info = "\
22 1 0:21 / / rw - overlay overlay rw
30 22 0:5 / /root/.cache/golive/rootfs-a/proc rw - proc proc rw
31 22 0:6 / /root/.cache/golive/rootfs-a/dev rw - tmpfs nodev rw
32 31 0:6 /null /root/.cache/golive/rootfs-a/dev/null rw - devtmpfs udev rw
33 22 0:7 / /root/.cache/golive/rootfs-ab/proc rw - proc proc rw
34 22 0:8 / /root/.cache/golive/rootfs-a/with\\040space rw - tmpfs t rw
";
        let found = mounts_under(info, Path::new("/root/.cache/golive/rootfs-a"));
        let found: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(found[0], "/root/.cache/golive/rootfs-a/dev/null");
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.contains(&"/root/.cache/golive/rootfs-a/with space".to_string()));
        assert!(!found.iter().any(|p| p.contains("rootfs-ab")));
    }

    #[test]
    fn unescape_reads_octal_and_leaves_stray_backslashes() {
        assert_eq!(unescape(r"/a\040b\011c"), "/a b\tc");
        assert_eq!(unescape(r"/a\b"), r"/a\b");
        assert_eq!(unescape(r"/end\"), r"/end\");
    }

    #[tokio::test]
    async fn a_bind_mount_inside_is_unmounted_and_what_it_shows_survives() {
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("sentinel"), "keep me").unwrap();
        let rootfs = tempfile::tempdir().unwrap().keep();
        let target = rootfs.join("dev/bound");
        std::fs::create_dir_all(&target).unwrap();
        let mounted = std::process::Command::new("mount")
            .arg("--bind")
            .arg(host.path())
            .arg(&target)
            .output();
        match mounted {
            Ok(out) if out.status.success() => {}
            other => {
                std::fs::remove_dir_all(&rootfs).unwrap();
                eprintln!("skipped: cannot bind-mount here (needs root): {other:?}");
                return;
            }
        }
        let said = std::sync::Mutex::new(Vec::new());
        let progress = |l: &str| said.lock().unwrap().push(l.to_string());
        remove_rootfs(&rootfs, &progress).await.unwrap();
        assert!(!rootfs.exists());
        assert_eq!(
            std::fs::read_to_string(host.path().join("sentinel")).unwrap(),
            "keep me"
        );
        assert!(said.lock().unwrap()[0].starts_with("Unmounting "));
    }
}
