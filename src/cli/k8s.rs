//! `golive k8s`: the manifests that run a scenario as N shards on an existing Kubernetes
//! cluster with nothing of golive's own running there but its pods: a ConfigMap with the
//! scenario, a ReadWriteMany volume the shards write their evidence to, an Indexed Job
//! (completion index → shard) whose pods meet at a start barrier on that volume, and a
//! merge Job that waits for every shard's results.json and judges them once.
//! docs/sharding.md explains the barrier and what the cluster must provide.

use crate::exit;
use crate::load::shard::MAX_SHARDS;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct K8sArgs {
    /// The scenario to run; it must load a running system (a `target:` URL the pods
    /// reach, no `services:` or `faults:`).
    pub scenario: PathBuf,
    /// How many shards (pods) share the load, 1 to 1000.
    #[arg(long)]
    pub shards: u32,
    /// The image with `golive` on its PATH.
    #[arg(long)]
    pub image: String,
    /// The namespace of every object.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Write the manifests to DIR/golive-k8s.yaml instead of standard output.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The image of the barrier and wait steps: a POSIX shell with `date`, `ls`, `wc`.
    #[arg(long, default_value = "busybox:1.37")]
    pub tools_image: String,
    /// The storage class of the shared volume; it must offer ReadWriteMany (NFS, CephFS,
    /// EFS, Azure Files, Filestore). Default: the cluster's default class.
    #[arg(long)]
    pub storage_class: Option<String>,
    /// How long after the last shard reached the barrier the load starts (the pods'
    /// clocks must agree to well within it).
    #[arg(long, default_value = "15s")]
    pub lead: crate::units::Duration,
    /// Names this run's objects and folders (lowercase letters, digits, `-`).
    /// Default: the UTC time of rendering.
    #[arg(long)]
    pub run_id: Option<String>,
}

/// `golive k8s`: exit 0 with the manifests written, 2 for a scenario that cannot be
/// sharded or bad flags, 3 when the output cannot be written.
pub fn run(args: &K8sArgs) -> i32 {
    match render(args, chrono::Utc::now()) {
        Ok(yaml) => match &args.out {
            None => {
                print!("{yaml}");
                exit::GO
            }
            Some(dir) => {
                let file = manifest_file(dir);
                let written = std::fs::create_dir_all(dir)
                    .and_then(|()| crate::report::write_atomic(&file, &yaml));
                match written {
                    Ok(()) => {
                        println!("wrote {}", file.display());
                        exit::GO
                    }
                    Err(e) => {
                        eprintln!("{}: cannot write: {e}", file.display());
                        exit::ENVIRONMENT
                    }
                }
            }
        },
        Err(e) => {
            super::print_error(&e);
            exit::INVALID_INPUT
        }
    }
}

/// A DNS-1123 label part: lowercase alphanumerics and `-`, at most `max` long.
fn label(text: &str, max: usize) -> String {
    let mut out: String = text
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.truncate(max);
    out.trim_matches('-').to_string()
}

/// The manifests, as one YAML stream.
pub fn render(args: &K8sArgs, now: chrono::DateTime<chrono::Utc>) -> Result<String, String> {
    let n = args.shards;
    if n == 0 || n > MAX_SHARDS {
        return Err(format!("--shards {n}: give 1 to {MAX_SHARDS}"));
    }
    let path = &args.scenario;
    let load = crate::plan::plan_scenario(path, None).map_err(|diags| {
        super::print_diagnostics(&diags);
        format!("{}: not a valid scenario", path.display())
    })?;
    super::adhoc::refuse_unshardable(&load, n).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let file = path.file_name().map_or_else(
        || "scenario.yaml".into(),
        |f| f.to_string_lossy().into_owned(),
    );
    let run = match &args.run_id {
        Some(r) => {
            let l = label(r, 20);
            if l != *r || l.is_empty() {
                return Err(format!(
                    "--run-id `{r}`: use lowercase letters, digits and `-`, at most 20"
                ));
            }
            l
        }
        None => now.format("%Y%m%d-%H%M%S").to_string(),
    };
    let base = format!("golive-{}-{run}", label(&load.name, 24));
    let ns = &args.namespace;
    let labels = json!({
        "app.kubernetes.io/name": "golive",
        "app.kubernetes.io/instance": base,
    });
    let meta = |name: String| json!({ "name": name, "namespace": ns, "labels": labels });
    let dir = format!("/shared/{run}");
    let lead = args.lead.as_std().as_secs().max(1);
    // Long enough for every pod to be scheduled, the load and the merge; a shard that
    // never comes fails the Jobs instead of leaving them waiting.
    let deadline = 900 + 2 * load.profile.duration().as_std().as_secs() + lead;
    let volumes = json!([
        { "name": "scenario", "configMap": { "name": format!("{base}-scenario") } },
        { "name": "shared", "persistentVolumeClaim": { "claimName": format!("{base}-shared") } },
    ]);
    let mounts = json!([
        { "name": "scenario", "mountPath": "/scenario", "readOnly": true },
        { "name": "shared", "mountPath": "/shared" },
    ]);
    let index_env = json!([{
        "name": "JOB_COMPLETION_INDEX",
        "valueFrom": { "fieldRef": {
            "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"
        } },
    }]);
    // Every shard marks itself ready; shard 0 waits for all N, then writes one start time
    // `lead` ahead; every shard waits for that file. One writer, so one time for all.
    let barrier = format!(
        "set -eu\n\
         mkdir -p {dir}/ready\n\
         touch {dir}/ready/$JOB_COMPLETION_INDEX\n\
         if [ \"$JOB_COMPLETION_INDEX\" = 0 ]; then\n\
         \x20 while [ \"$(ls {dir}/ready | wc -l)\" -lt {n} ]; do sleep 1; done\n\
         \x20 date -u -d \"@$(( $(date +%s) + {lead} ))\" +%Y-%m-%dT%H:%M:%SZ > {dir}/start-at.tmp\n\
         \x20 mv {dir}/start-at.tmp {dir}/start-at\n\
         fi\n\
         while [ ! -s {dir}/start-at ]; do sleep 1; done\n\
         cat {dir}/start-at\n"
    );
    let shard_job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(format!("{base}-shards")),
        "spec": {
            "completionMode": "Indexed",
            "completions": n,
            "parallelism": n,
            // A shard run again would start after the start time (refused) or send its
            // arrivals twice: a failed shard fails the run, which is then run anew.
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline,
            "template": {
                "metadata": { "labels": labels },
                "spec": {
                    "restartPolicy": "Never",
                    "initContainers": [{
                        "name": "barrier",
                        "image": args.tools_image,
                        "command": ["sh", "-c", barrier],
                        "env": index_env,
                        "volumeMounts": mounts,
                    }],
                    "containers": [{
                        "name": "shard",
                        "image": args.image,
                        "command": ["golive"],
                        "args": [
                            "load", format!("/scenario/{file}"),
                            "--shard", format!("$(JOB_COMPLETION_INDEX)/{n}"),
                            "--start-at", format!("@{dir}/start-at"),
                            "--out", format!("{dir}/shard-$(JOB_COMPLETION_INDEX)"),
                        ],
                        "env": index_env,
                        "volumeMounts": mounts,
                    }],
                    "volumes": volumes,
                },
            },
        },
    });
    let results: Vec<String> = (0..n)
        .map(|i| format!("{dir}/shard-{i}/results.json"))
        .collect();
    // results.json is written atomically (temporary file, then rename): once it exists
    // it is whole.
    let wait = format!(
        "set -eu\n\
         for f in {}; do\n\
         \x20 until [ -s \"$f\" ]; do sleep 2; done\n\
         done\n",
        results.join(" ")
    );
    let mut merge_args = vec!["merge".to_string()];
    merge_args.extend(results.iter().cloned());
    merge_args.extend(["--output".into(), format!("{dir}/merged-results.json")]);
    let merge_job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(format!("{base}-merge")),
        "spec": {
            "completions": 1,
            // The merge's exit code is the verdict: a NO-GO is not retried.
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline,
            "template": {
                "metadata": { "labels": labels },
                "spec": {
                    "restartPolicy": "Never",
                    "initContainers": [{
                        "name": "wait-for-shards",
                        "image": args.tools_image,
                        "command": ["sh", "-c", wait],
                        "volumeMounts": mounts,
                    }],
                    "containers": [{
                        "name": "merge",
                        "image": args.image,
                        "command": ["golive"],
                        "args": merge_args,
                        "volumeMounts": mounts,
                    }],
                    "volumes": volumes,
                },
            },
        },
    });
    let mut pvc_spec = json!({
        "accessModes": ["ReadWriteMany"],
        "resources": { "requests": { "storage": "1Gi" } },
    });
    if let Some(class) = &args.storage_class {
        pvc_spec["storageClassName"] = json!(class);
    }
    let docs: Vec<Value> = vec![
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(format!("{base}-scenario")),
            "data": { file: text },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": meta(format!("{base}-shared")),
            "spec": pvc_spec,
        }),
        shard_job,
        merge_job,
    ];
    let mut out = format!(
        "# golive k8s: scenario `{}` as {n} shards (run {run}); apply with kubectl apply -f,\n\
         # read the verdict with kubectl logs job/{base}-merge.\n",
        load.name
    );
    for d in &docs {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(d).map_err(|e| format!("cannot render: {e}"))?);
    }
    Ok(out)
}

/// For `golive k8s --out`: where the manifests go.
pub fn manifest_file(dir: &Path) -> PathBuf {
    dir.join("golive-k8s.yaml")
}
