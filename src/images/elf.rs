//! Just enough ELF to tell whether a binary can run in a `FROM scratch` image: a binary
//! that names a program interpreter (`PT_INTERP`) needs the dynamic loader and the C
//! library, which scratch does not have. Static and static-pie binaries name none.
//!
//! Parsed by hand (about forty lines) rather than with `goblin` or `object`: only the
//! file header and the program header table's types are read.

use std::fmt;

/// What the file header and program headers say about a binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    /// `e_machine`, e.g. 62 for x86-64.
    pub machine: u16,
    pub linking: Linking,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linking {
    /// No program interpreter: runs with nothing else in the image.
    Static,
    /// Needs this loader (e.g. `/lib64/ld-linux-x86-64.so.2`) and the libraries it loads.
    Dynamic { interpreter: String },
}

/// Why bytes are not an executable ELF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElfError {
    NotElf,
    /// Relocatable objects and core files have no program to run.
    NotExecutable {
        e_type: u16,
    },
    Truncated,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::NotElf => write!(f, "not an ELF file"),
            ElfError::NotExecutable { e_type } => {
                write!(f, "an ELF file but not an executable (e_type {e_type})")
            }
            ElfError::Truncated => write!(f, "a truncated ELF file"),
        }
    }
}

const PT_INTERP: u32 = 3;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;

/// Reads the header and program headers of an ELF file of either class and byte order.
pub fn inspect(bytes: &[u8]) -> Result<ElfInfo, ElfError> {
    if bytes.get(..4) != Some(b"\x7fELF") {
        return Err(ElfError::NotElf);
    }
    let wide = match bytes.get(4) {
        Some(1) => false,
        Some(2) => true,
        _ => return Err(ElfError::NotElf),
    };
    let r = Reader {
        bytes,
        big_endian: match bytes.get(5) {
            Some(1) => false,
            Some(2) => true,
            _ => return Err(ElfError::NotElf),
        },
    };
    let e_type = r.u16(16)?;
    if e_type != ET_EXEC && e_type != ET_DYN {
        return Err(ElfError::NotExecutable { e_type });
    }
    let machine = r.u16(18)?;
    let (phoff, phentsize, phnum) = if wide {
        (r.u64(32)?, r.u16(54)?, r.u16(56)?)
    } else {
        (u64::from(r.u32(28)?), r.u16(42)?, r.u16(44)?)
    };
    for i in 0..u64::from(phnum) {
        let at = phoff
            .checked_add(i * u64::from(phentsize))
            .and_then(|a| usize::try_from(a).ok())
            .ok_or(ElfError::Truncated)?;
        if r.u32(at)? != PT_INTERP {
            continue;
        }
        let (offset, size) = if wide {
            (r.u64(at + 8)?, r.u64(at + 32)?)
        } else {
            (u64::from(r.u32(at + 4)?), u64::from(r.u32(at + 16)?))
        };
        let path = r.slice(offset, size)?;
        let path = path.split(|b| *b == 0).next().unwrap_or_default();
        return Ok(ElfInfo {
            machine,
            linking: Linking::Dynamic {
                interpreter: String::from_utf8_lossy(path).into_owned(),
            },
        });
    }
    Ok(ElfInfo {
        machine,
        linking: Linking::Static,
    })
}

/// Docker's name for an ELF machine (`GOARCH`), for the ones an engine is likely to run.
pub fn docker_arch(machine: u16) -> Option<&'static str> {
    Some(match machine {
        3 => "386",
        40 => "arm",
        62 => "amd64",
        183 => "arm64",
        243 => "riscv64",
        _ => return None,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    big_endian: bool,
}

impl Reader<'_> {
    fn slice(&self, offset: u64, len: u64) -> Result<&[u8], ElfError> {
        let start = usize::try_from(offset).map_err(|_| ElfError::Truncated)?;
        let len = usize::try_from(len).map_err(|_| ElfError::Truncated)?;
        start
            .checked_add(len)
            .and_then(|end| self.bytes.get(start..end))
            .ok_or(ElfError::Truncated)
    }

    fn array<const N: usize>(&self, at: usize) -> Result<[u8; N], ElfError> {
        let s = self.slice(at as u64, N as u64)?;
        let mut a: [u8; N] = s.try_into().map_err(|_| ElfError::Truncated)?;
        if self.big_endian {
            a.reverse();
        }
        Ok(a)
    }

    fn u16(&self, at: usize) -> Result<u16, ElfError> {
        self.array(at).map(u16::from_le_bytes)
    }

    fn u32(&self, at: usize) -> Result<u32, ElfError> {
        self.array(at).map(u32::from_le_bytes)
    }

    fn u64(&self, at: usize) -> Result<u64, ElfError> {
        self.array(at).map(u64::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal 64-bit little-endian executable header with the given program header
    /// types; an interpreter segment points at `/lib/ld.so`.
    fn elf64(types: &[u32]) -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[16..18].copy_from_slice(&ET_DYN.to_le_bytes());
        b[18..20].copy_from_slice(&62u16.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&(types.len() as u16).to_le_bytes());
        let strings = 64 + 56 * types.len() as u64;
        for t in types {
            let mut ph = [0u8; 56];
            ph[..4].copy_from_slice(&t.to_le_bytes());
            ph[8..16].copy_from_slice(&strings.to_le_bytes());
            ph[32..40].copy_from_slice(&11u64.to_le_bytes());
            b.extend_from_slice(&ph);
        }
        b.extend_from_slice(b"/lib/ld.so\0");
        b
    }

    #[test]
    fn headers_without_an_interpreter_are_static() {
        // PT_LOAD, PT_DYNAMIC, PT_GNU_STACK: what a static-pie binary has.
        let info = inspect(&elf64(&[1, 2, 0x6474_e551])).unwrap();
        assert_eq!(info.linking, Linking::Static);
        assert_eq!(docker_arch(info.machine), Some("amd64"));
    }

    #[test]
    fn an_interpreter_header_means_dynamic_and_names_the_loader() {
        let info = inspect(&elf64(&[6, PT_INTERP, 1])).unwrap();
        assert_eq!(
            info.linking,
            Linking::Dynamic {
                interpreter: "/lib/ld.so".into()
            }
        );
    }

    #[test]
    fn not_elf_truncated_and_non_executables_are_refused() {
        assert_eq!(inspect(b"#!/bin/sh\n"), Err(ElfError::NotElf));
        assert_eq!(inspect(b""), Err(ElfError::NotElf));
        let full = elf64(&[PT_INTERP]);
        assert_eq!(inspect(&full[..80]), Err(ElfError::Truncated));
        let mut object = elf64(&[]);
        object[16] = 1; // ET_REL
        assert_eq!(inspect(&object), Err(ElfError::NotExecutable { e_type: 1 }));
    }

    #[test]
    fn big_endian_32_bit_headers_are_read() {
        let mut b = vec![0u8; 52 + 32];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 1;
        b[5] = 2;
        b[16..18].copy_from_slice(&ET_EXEC.to_be_bytes());
        b[18..20].copy_from_slice(&8u16.to_be_bytes()); // MIPS
        b[28..32].copy_from_slice(&52u32.to_be_bytes());
        b[42..44].copy_from_slice(&32u16.to_be_bytes());
        b[44..46].copy_from_slice(&1u16.to_be_bytes());
        b[52..56].copy_from_slice(&1u32.to_be_bytes()); // PT_LOAD only
        let info = inspect(&b).unwrap();
        assert_eq!((info.machine, info.linking), (8, Linking::Static));
        assert_eq!(docker_arch(8), None);
    }

    #[test]
    fn bin_ls_is_dynamic() {
        let Ok(bytes) = std::fs::read("/bin/ls") else {
            eprintln!("skipped: /bin/ls is not readable here");
            return;
        };
        let info = inspect(&bytes).unwrap();
        assert!(
            matches!(&info.linking, Linking::Dynamic { interpreter } if interpreter.contains("ld")),
            "{info:?}"
        );
    }

    #[test]
    fn ldconfig_is_static() {
        // glibc distributions ship ldconfig static (it must run while libraries are broken),
        // so it stands in for a crt-static golive; tests/images.rs checks golive itself.
        let Ok(bytes) = std::fs::read("/sbin/ldconfig") else {
            eprintln!("skipped: /sbin/ldconfig is not readable here");
            return;
        };
        assert_eq!(inspect(&bytes).unwrap().linking, Linking::Static);
    }
}
