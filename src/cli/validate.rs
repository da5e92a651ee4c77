//! `golive validate`: plans every checklist and scenario given, without running or
//! connecting to anything, and reports every problem as file:line:col. A scenario file
//! is validated where it is used: with the services of each input checklist that uses it.

use super::{print_diagnostics, print_error};
use crate::diag::{Cause, Diagnostic, UsedBy};
use crate::exit;
use crate::load::LoadPlan;
use crate::plan::{check_file, plan_scenario_with, PlanOptions};
use crate::template::EnvMode;
use std::path::{Path, PathBuf};

/// What an input file is, told by its top-level keys.
enum Input {
    Checklist(PathBuf),
    /// `own_services`: it declares services of its own, so it may also run alone.
    Scenario {
        file: PathBuf,
        own_services: bool,
    },
}

/// A checklist item among the inputs that uses a scenario file, and the scenario as
/// planned there (`None`: not valid there; the checklist's diagnostics said why).
struct Use {
    file: Option<PathBuf>,
    by: UsedBy,
    plan: Option<Box<LoadPlan>>,
}

/// `golive validate`: exit 0 when every file is valid, else 2. Checklists come first, so
/// that each scenario file is then judged by how they use it.
pub fn validate(paths: &[PathBuf], no_env: bool) -> i32 {
    let options = PlanOptions {
        env: if no_env {
            EnvMode::Unresolved
        } else {
            EnvMode::Resolve
        },
    };
    let (inputs, mut code) = inputs(paths);
    // Input scenarios by where they really are, to show each as the user named it.
    let named: Vec<(PathBuf, &Path)> = inputs
        .iter()
        .filter_map(|i| match i {
            Input::Scenario { file, .. } => {
                Some((std::fs::canonicalize(file).ok()?, file.as_path()))
            }
            Input::Checklist(_) => None,
        })
        .collect();
    let mut uses = Vec::new();
    for input in &inputs {
        let Input::Checklist(f) = input else { continue };
        let checked = check_file(f, options);
        match checked.plan {
            Ok(p) => println!(
                "{}: ok ({} items in {} phases, {} services)",
                f.display(),
                p.items().count(),
                p.phases.len(),
                p.services.len()
            ),
            Err(mut diags) => {
                for d in diags.iter_mut().filter(|d| d.used_by.is_some()) {
                    let real = std::fs::canonicalize(&d.file).ok();
                    if let Some((_, given)) = named.iter().find(|(c, _)| Some(c) == real.as_ref()) {
                        d.file = given.to_path_buf();
                    }
                }
                print_diagnostics(&diags);
                code = exit::INVALID_INPUT;
            }
        }
        uses.extend(checked.scenarios.into_iter().map(|u| Use {
            file: std::fs::canonicalize(&u.file).ok(),
            by: UsedBy {
                checklist: f.clone(),
                item: u.item,
            },
            plan: u.plan,
        }));
    }
    for input in &inputs {
        let Input::Scenario { file, own_services } = input else {
            continue;
        };
        if !scenario(file, *own_services, &uses, options) {
            code = exit::INVALID_INPUT;
        }
    }
    code
}

/// Validates one scenario file: in each input checklist item that uses it, and on its
/// own when none does or when it declares services to run alone with. Prints its
/// ok-line naming those contexts, or its problems; true when valid in all of them.
fn scenario(file: &Path, own_services: bool, uses: &[Use], options: PlanOptions) -> bool {
    let here = std::fs::canonicalize(file).ok();
    let used: Vec<&Use> = uses
        .iter()
        .filter(|u| here.is_some() && u.file == here)
        .collect();
    let mut contexts: Vec<String> = Vec::new();
    let mut planned: Option<LoadPlan> = None;
    if used.is_empty() || own_services {
        match plan_scenario_with(file, None, options) {
            Ok(p) => {
                contexts.push("on its own".into());
                planned = Some(p);
            }
            Err(mut diags) => {
                if used.is_empty() {
                    hint_its_checklist(file, &mut diags);
                }
                print_diagnostics(&diags);
                return false;
            }
        }
    }
    // Its problems where it is used were printed with the checklist that uses it.
    if used.iter().any(|u| u.plan.is_none()) {
        return false;
    }
    if !used.is_empty() {
        let by: Vec<String> = used.iter().map(|u| u.by.to_string()).collect();
        contexts.push(format!("as used by {}", by.join(", ")));
    }
    let Some(p) = planned
        .as_ref()
        .or_else(|| used.iter().find_map(|u| u.plan.as_deref()))
    else {
        return false;
    };
    println!(
        "{}: ok (load scenario `{}`: {} requests, {} model, {}; {})",
        file.display(),
        p.name,
        p.requests.len(),
        p.profile.model(),
        p.profile.duration(),
        contexts.join("; ")
    );
    true
}

/// A scenario alone that fails only for services it does not declare is most likely
/// meant to run from a checklist that declares them: say how to validate it there.
fn hint_its_checklist(file: &Path, diags: &mut [Diagnostic]) {
    let only_services = !diags.is_empty()
        && diags
            .iter()
            .all(|d| matches!(d.cause, Some(Cause::UndeclaredService(_))));
    if let (true, Some(last)) = (only_services, diags.last_mut()) {
        last.hint = Some(format!(
            "validate it together with the checklist that uses it: golive validate CHECKLIST {}",
            file.display()
        ));
    }
}

/// The files to validate, each told apart, and exit 2 when a folder holds none. A
/// waivers file found in a folder is skipped (`run --waivers` reads it).
fn inputs(paths: &[PathBuf]) -> (Vec<Input>, i32) {
    let mut code = exit::GO;
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let found = yaml_files(p);
            if found.is_empty() {
                print_error(&format!(
                    "{}: no .yaml or .yml file in this folder",
                    p.display()
                ));
                code = exit::INVALID_INPUT;
            }
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    let mut out = Vec::new();
    for f in files {
        // A file that does not read is planned as a checklist, which reports why.
        let keys = crate::spec::read_source(&f)
            .map(|s| s.index.keys_of("").to_vec())
            .unwrap_or_default();
        if paths.iter().all(|p| *p != f) && keys == ["waivers"] {
            println!("{}: skipped (a waivers file)", f.display());
        } else if keys.iter().any(|k| k == "executor") {
            let own_services = keys.iter().any(|k| k == "services");
            out.push(Input::Scenario {
                file: f,
                own_services,
            });
        } else {
            out.push(Input::Checklist(f));
        }
    }
    (out, code)
}

/// The .yaml and .yml files under `dir`, at any depth, sorted; hidden folders and
/// `target` are left out.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    stack.push(path);
                }
            } else if kind.is_file() && (name.ends_with(".yaml") || name.ends_with(".yml")) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
