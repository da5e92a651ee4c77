//! From typed specs to a validated, immutable [`Plan`]: every string that needs parsing
//! (expressions, templates) is parsed here, every reference is resolved, and every
//! problem in a file is reported at once with its location.

mod adhoc;
mod baseline;
mod checks;
mod claims;
mod conversation;
mod criteria;
pub mod defaults;
mod expect;
mod monitor;
mod ports;
mod resources;
mod scenario;
mod services;
mod waivers;
pub use waivers::add_file as add_waivers_file;

pub use adhoc::{adhoc_load, plan_file_with_args, plan_scenario_run, AdhocLoad};
pub use baseline::BaselineClaim;
pub use criteria::build as build_criterion;
pub use expect::{build as build_expectation, KindSubjects};
pub use monitor::{
    parse_objective, AlertRule, Maintenance, MonitorPlan, MonitoredItem, ObjectiveAlerts, Receiver,
};
pub use scenario::{plan_scenario, plan_scenario_with};

use crate::check::Check;
use crate::criteria::{Criterion, ResourceCriterion};
use crate::diag::{Diagnostic, Diagnostics};
use crate::evidence::Confidence;
use crate::redact::Redactor;
use crate::services::ServicePlan;
use crate::spec::{self, Checklist, Severity, Source};
use crate::template::{Declared, EnvMode, FormPorts, Scope, Template};
use crate::units::Duration;
use sha2::Digest;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// A checklist ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub file: PathBuf,
    /// SHA-256 of the checklist text, so a report is bound to the exact file it ran.
    pub sha256: String,
    pub system: String,
    pub release: Option<String>,
    pub description: Option<String>,
    pub confidence: Confidence,
    /// Known issues carried as exceptions; judged against the policy's clock.
    pub waivers: Vec<crate::verdict::Waiver>,
    pub services: Vec<ServicePlan>,
    pub phases: Vec<PhasePlan>,
    /// Every value read from `{env.NAME}`, in this file or a scenario it names: masked
    /// wherever the run shows text.
    pub redactor: Redactor,
    /// How `golive monitor` runs this checklist (defaults when it has no `monitor:`).
    pub monitor: MonitorPlan,
}

#[derive(Debug, Clone)]
pub struct PhasePlan {
    pub id: String,
    pub title: String,
    pub items: Vec<ItemPlan>,
}

#[derive(Debug, Clone)]
pub struct ItemPlan {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    /// The checklist line where the item is written, for reports and CI annotations.
    pub line: Option<usize>,
    pub body: ItemBody,
}

#[derive(Debug, Clone)]
pub enum ItemBody {
    Check(CheckItem),
    Manual(ManualItem),
    /// A load scenario with its thresholds (the item's criteria included).
    Load(Box<crate::load::LoadPlan>),
    /// Resource criteria on a service.
    Resources(ResourceItem),
}

/// A `kind: resources` item.
#[derive(Debug, Clone)]
pub struct ResourceItem {
    pub service: String,
    pub criteria: Vec<ResourceCriterion>,
    /// Only the readings taken while this earlier item ran (a load's after warm-up).
    pub during: Option<String>,
}

/// An automated item: the check, how often to sample it, and the claims over the samples.
#[derive(Debug, Clone)]
pub struct CheckItem {
    pub check: Check,
    pub samples: u32,
    pub interval: Duration,
    pub concurrency: u32,
    pub criteria: Vec<Criterion>,
}

/// A manual item: who must sign.
#[derive(Debug, Clone)]
pub struct ManualItem {
    pub role: String,
    pub instructions: Option<String>,
}

impl Plan {
    pub fn items(&self) -> impl Iterator<Item = &ItemPlan> {
        self.phases.iter().flat_map(|p| p.items.iter())
    }
}

/// Reads, deserialises and validates one checklist file.
pub fn plan_file(path: &Path) -> Result<Plan, Vec<Diagnostic>> {
    check_file(path, PlanOptions::default()).plan
}

/// How planning treats what lies outside the files; the default is what a run needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Whether `{env.NAME}` is read now or only checked (`golive validate --no-env`).
    pub env: EnvMode,
}

/// A checklist validated for `golive validate`: the plan or every problem, and each
/// scenario file its load items use, as planned there.
#[derive(Debug)]
pub struct Checked {
    pub plan: Result<Plan, Vec<Diagnostic>>,
    pub scenarios: Vec<ScenarioUse>,
}

/// A scenario file that a load item uses.
#[derive(Debug, Clone)]
pub struct ScenarioUse {
    pub item: String,
    /// The checklist's folder joined with the path the item gives.
    pub file: PathBuf,
    /// The scenario as planned with the checklist's services; `None` when it is not
    /// valid there (the checklist's diagnostics then hold why, naming the item).
    pub plan: Option<Box<crate::load::LoadPlan>>,
}

/// [`plan_file`] with `options`, reporting the scenario files the checklist uses too,
/// so a scenario is validated where it is used rather than alone.
pub fn check_file(path: &Path, options: PlanOptions) -> Checked {
    match spec::load_file(path) {
        Ok((checklist, source)) => build_checked(&checklist, &source, options),
        Err(diags) => Checked {
            plan: Err(diags),
            scenarios: Vec::new(),
        },
    }
}

/// Shared state while validating one file.
pub(crate) struct Ctx<'a> {
    pub diags: Diagnostics<'a>,
    /// The file being validated (an inline scenario is planned from it).
    pub source: &'a Source,
    /// Diagnostics about other files this one refers to (scenarios).
    pub others: Vec<Diagnostic>,
    /// The declared services with their forms' named ports.
    pub services: Declared,
    pub base_dir: PathBuf,
    /// The values templates read from the environment so far.
    pub secrets: Redactor,
    /// While a WebSocket conversation is planned: the names its earlier steps capture,
    /// which `{captured.NAME}` may read. Empty elsewhere.
    pub captured: BTreeSet<String>,
    /// The checklist's automated items planned so far, by id: what `during:` may name.
    pub earlier: Vec<String>,
    /// What a placeholder may leave unread (`{env.NAME}` under `validate --no-env`).
    pub options: PlanOptions,
    /// The scenario files load items use, as planned so far.
    pub uses: Vec<ScenarioUse>,
}

impl Ctx<'_> {
    /// Parses a template at `path`, reporting a located error. `process` allows
    /// `{port}` and `{golive}` (a service's own fields); `{ports.NAME}` is then checked
    /// against the forms in `own`.
    pub fn template(&mut self, path: &str, text: &str, process: bool) -> Option<Template> {
        self.own_template(path, text, process, &[])
    }

    /// [`Ctx::template`] in a service's own fields, where `{ports.NAME}` reads `own`.
    pub fn own_template(
        &mut self,
        path: &str,
        text: &str,
        process: bool,
        own: &[FormPorts],
    ) -> Option<Template> {
        let scope = Scope {
            services: &self.services,
            process,
            captured: &self.captured,
            own,
            env: self.options.env,
        };
        match Template::parse(text, &scope) {
            Ok(t) => {
                self.secrets.add(t.secrets().map(str::to_string));
                Some(t)
            }
            Err(e) => {
                let cause = e.undeclared.map(crate::diag::Cause::UndeclaredService);
                self.diags
                    .error_at_offset_for(path, e.offset, e.message, cause);
                None
            }
        }
    }

    /// A file or folder relative to the checklist's folder that must exist.
    pub fn existing_file(&mut self, path: &str, rel: &str) -> Option<PathBuf> {
        let p = self.base_dir.join(rel);
        if p.exists() {
            Some(p)
        } else {
            self.diags.error(
                path,
                format!("`{rel}` does not exist (looked for {})", p.display()),
            );
            None
        }
    }
}

/// Checks a header value as written: a line break or other control character would be
/// refused by the HTTP client at run time (a newline could also smuggle a header in), so
/// it is an error now. Placeholders (`{env.TOKEN}`) are valid characters here.
fn header_value_ok(ctx: &mut Ctx, path: &str, value: &str) {
    if let Some((at, c)) = value
        .char_indices()
        .find(|&(_, c)| c.is_control() && c != '\t')
    {
        ctx.diags.error_at_offset(
            path,
            at,
            format!("a header value cannot hold the control character {:?}", c),
        );
    }
}

/// Validates a deserialised checklist; every problem comes back, located.
pub fn build(c: &Checklist, source: &Source) -> Result<Plan, Vec<Diagnostic>> {
    build_checked(c, source, PlanOptions::default()).plan
}

fn build_checked(c: &Checklist, source: &Source, options: PlanOptions) -> Checked {
    let base_dir = source
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let base_dir = if base_dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base_dir
    };
    let mut ctx = Ctx {
        others: Vec::new(),
        diags: Diagnostics::new(&source.path, &source.index),
        source,
        services: ports::declared(&c.services),
        base_dir,
        secrets: Redactor::default(),
        captured: BTreeSet::new(),
        earlier: Vec::new(),
        options,
        uses: Vec::new(),
    };
    if c.system.trim().is_empty() {
        ctx.diags.error(
            "system",
            "`system` is empty; name the system being released",
        );
    }
    let confidence = match c.confidence {
        None => Confidence::default(),
        Some(p) => Confidence::new(p.fraction()).unwrap_or_else(|| {
            ctx.diags.error(
                "confidence",
                "confidence must be above 50% and below 100% (e.g. 95%)",
            );
            Confidence::default()
        }),
    };
    let services: Vec<ServicePlan> = c
        .services
        .iter()
        .filter_map(|(name, s)| services::build(name, s, &mut ctx))
        .collect();
    let services = services::start_order(services, &c.services, &mut ctx);

    let mut seen_phase: HashMap<&str, usize> = HashMap::new();
    let mut seen_item: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut phases = Vec::new();
    for (pi, phase) in c.phases.iter().enumerate() {
        let pp = format!("phases[{pi}]");
        check_id(&mut ctx, &format!("{pp}.id"), &phase.id);
        if let Some(first) = seen_phase.insert(&phase.id, pi) {
            ctx.diags.error(
                &format!("{pp}.id"),
                format!("phase id `{}` is also used by phases[{first}]", phase.id),
            );
        }
        let mut items = Vec::new();
        for (ii, item) in phase.items.iter().enumerate() {
            let ip = format!("{pp}.items[{ii}]");
            check_id(&mut ctx, &format!("{ip}.id"), &item.id);
            if let Some((fp, fi)) = seen_item.insert(&item.id, (pi, ii)) {
                ctx.diags.error(
                    &format!("{ip}.id"),
                    format!(
                        "item id `{}` is also used by phases[{fp}].items[{fi}]",
                        item.id
                    ),
                );
            }
            let body = item_body(item, &ip, &mut ctx);
            if item.check.is_some() {
                ctx.earlier.push(item.id.clone());
            }
            if let Some(body) = body {
                items.push(ItemPlan {
                    id: item.id.clone(),
                    title: item.title.clone(),
                    description: item.description.clone(),
                    severity: item.severity,
                    line: Some(ctx.diags.line_of(&ip)),
                    body,
                });
            }
        }
        phases.push(PhasePlan {
            id: phase.id.clone(),
            title: phase.title.clone(),
            items,
        });
    }
    let waivers = waivers::build(&c.waivers, "waivers", &phases, &mut ctx);
    let item_specs: Vec<(&spec::Item, String)> = c
        .phases
        .iter()
        .enumerate()
        .flat_map(|(pi, p)| {
            p.items
                .iter()
                .enumerate()
                .map(move |(ii, i)| (i, format!("phases[{pi}].items[{ii}]")))
        })
        .collect();
    let monitor = monitor::build(&mut ctx, c.monitor.as_ref(), &item_specs, &phases);
    if c.phases.iter().all(|p| p.items.is_empty()) {
        ctx.diags.error_hint(
            "phases",
            "the checklist has no items",
            "add at least one item with a `check` or a `manual` sign-off",
        );
    }
    let scenarios = std::mem::take(&mut ctx.uses);
    if !ctx.diags.is_empty() || !ctx.others.is_empty() {
        let mut all = ctx.diags.into_vec();
        all.append(&mut ctx.others);
        return Checked {
            plan: Err(all),
            scenarios,
        };
    }
    let plan = Ok(Plan {
        file: source.path.clone(),
        sha256: hex::encode(sha2::Sha256::digest(source.text.as_bytes())),
        system: c.system.clone(),
        release: c.release.clone(),
        description: c.description.clone(),
        confidence,
        services,
        phases,
        redactor: ctx.secrets,
        waivers,
        monitor,
    });
    Checked { plan, scenarios }
}

fn check_id(ctx: &mut Ctx, path: &str, id: &str) {
    if !services::valid_id(id) {
        ctx.diags.error(
            path,
            format!("`{id}` is not a valid id; use letters, digits, `-` and `_`"),
        );
    }
}

fn item_body(item: &spec::Item, path: &str, ctx: &mut Ctx) -> Option<ItemBody> {
    match (&item.check, &item.manual) {
        (Some(_), Some(_)) => {
            ctx.diags.error_hint(
                path,
                "an item has either `check` or `manual`, not both",
                "split it into two items",
            );
            None
        }
        (None, None) => {
            ctx.diags.error_hint(
                path,
                format!("item `{}` has neither `check` nor `manual`", item.id),
                "add `check: {{ kind: http, ... }}` or `manual: {{ role: ... }}`",
            );
            None
        }
        (None, Some(m)) => {
            let sampling = [
                ("samples", item.samples.is_some()),
                ("interval", item.interval.is_some()),
                ("concurrency", item.concurrency.is_some()),
                ("criteria", !item.criteria.is_empty()),
            ];
            for (key, set) in sampling {
                if set {
                    ctx.diags.error(
                        &format!("{path}.{key}"),
                        format!("`{key}` applies to automated checks, not to a manual item"),
                    );
                }
            }
            if m.role.trim().is_empty() {
                ctx.diags.error(
                    &format!("{path}.manual.role"),
                    "the role is empty; name who must sign, e.g. \"QA Team Lead\"",
                );
            }
            Some(ItemBody::Manual(ManualItem {
                role: m.role.trim().to_string(),
                instructions: m.instructions.clone(),
            }))
        }
        (Some(spec::CheckSpec::Load(l)), None) => load_item(item, l, path, ctx),
        (Some(spec::CheckSpec::Resources(r)), None) => resources_item(item, r, path, ctx),
        (Some(spec), None) => {
            let check = checks::build(spec, &format!("{path}.check"), ctx);
            let samples = item.samples.unwrap_or(defaults::SAMPLES);
            if samples == 0 || samples > defaults::MAX_SAMPLES {
                ctx.diags.error(
                    &format!("{path}.samples"),
                    format!("samples must be between 1 and {}", defaults::MAX_SAMPLES),
                );
            }
            let concurrency = item.concurrency.unwrap_or(defaults::CONCURRENCY);
            if concurrency == 0 || concurrency > defaults::MAX_CONCURRENCY {
                ctx.diags.error(
                    &format!("{path}.concurrency"),
                    format!(
                        "concurrency must be between 1 and {}",
                        defaults::MAX_CONCURRENCY
                    ),
                );
            }
            let mut criteria = Vec::new();
            let mut ok = true;
            for (ci, text) in item.criteria.iter().enumerate() {
                let cp = format!("{path}.criteria[{ci}]");
                let built = crate::expr::parse(text)
                    .map_err(|e| (e.offset, e.message))
                    .and_then(|c| criteria::build(text, &c));
                match built {
                    Ok(c) => criteria.push(c),
                    Err((offset, message)) => {
                        ctx.diags.error_at_offset(&cp, offset, message);
                        ok = false;
                    }
                }
            }
            if criteria.is_empty() {
                criteria.push(crate::criteria::every_sample_passes());
            }
            let check = check?;
            ok.then(|| {
                ItemBody::Check(CheckItem {
                    check,
                    samples,
                    interval: item.interval.unwrap_or(defaults::INTERVAL),
                    concurrency,
                    criteria,
                })
            })
        }
    }
}

/// A `kind: load` item: the scenario planned against this checklist's services, with
/// the item's criteria added to its thresholds.
fn load_item(item: &spec::Item, l: &spec::LoadSpec, path: &str, ctx: &mut Ctx) -> Option<ItemBody> {
    for (key, set) in [
        ("samples", item.samples.is_some()),
        ("interval", item.interval.is_some()),
        ("concurrency", item.concurrency.is_some()),
    ] {
        if set {
            ctx.diags.error(
                &format!("{path}.{key}"),
                format!(
                    "`{key}` does not apply to a load item; the scenario's executor sets the load"
                ),
            );
        }
    }
    let planned = match &l.scenario {
        spec::ScenarioRef::Path(rel) => {
            let file = ctx.existing_file(&format!("{path}.check.scenario"), rel)?;
            let used_by = crate::diag::UsedBy {
                checklist: ctx.source.path.clone(),
                item: item.id.clone(),
            };
            let planned = scenario::plan_used(&file, &ctx.services, &used_by, ctx.options);
            ctx.uses.push(ScenarioUse {
                item: item.id.clone(),
                file,
                plan: planned.as_ref().ok().cloned().map(Box::new),
            });
            planned.inspect_err(|_| {
                ctx.diags.error(
                    &format!("{path}.check.scenario"),
                    format!("the scenario `{rel}` is not valid here (see below)"),
                );
            })
        }
        spec::ScenarioRef::Inline(s) => scenario::build(
            s,
            ctx.source,
            Some(&ctx.services),
            &format!("{path}.check.scenario."),
            ctx.options,
        ),
    };
    let mut plan = match planned {
        Ok(p) => {
            ctx.secrets.extend(&p.secrets);
            p
        }
        Err(mut diags) => {
            ctx.others.append(&mut diags);
            return None;
        }
    };
    let before = ctx.diags.len();
    let drills = scenario::faults(
        ctx,
        &format!("{path}.check."),
        &l.faults,
        Some(plan.profile.duration()),
    );
    plan.faults.extend(drills);
    let mut ok = ctx.diags.len() == before;
    for (ci, text) in item.criteria.iter().enumerate() {
        if scenario::is_recovery_time(text) {
            let at = format!("{path}.criteria[{ci}]");
            let has = !plan.faults.is_empty();
            match scenario::recovery_threshold(ctx, &at, text, has) {
                Some(t) => plan.recovery.push(t),
                None => ok = false,
            }
            continue;
        }
        let built = crate::expr::parse(text)
            .map_err(|e| (e.offset, e.message))
            .and_then(|c| criteria::build(text, &c));
        match built {
            Ok(criterion) => plan.thresholds.push(crate::load::Threshold {
                request: None,
                criterion,
            }),
            Err((offset, message)) => {
                ctx.diags
                    .error_at_offset(&format!("{path}.criteria[{ci}]"), offset, message);
                ok = false;
            }
        }
    }
    ok.then(|| ItemBody::Load(Box::new(plan)))
}

/// A `kind: resources` item: criteria on what a service used.
fn resources_item(
    item: &spec::Item,
    r: &spec::ResourcesSpec,
    path: &str,
    ctx: &mut Ctx,
) -> Option<ItemBody> {
    for (key, set) in [
        ("samples", item.samples.is_some()),
        ("interval", item.interval.is_some()),
        ("concurrency", item.concurrency.is_some()),
    ] {
        if set {
            ctx.diags.error(&format!("{path}.{key}"), format!("`{key}` does not apply: resources are sampled every second while the services run"));
        }
    }
    if !ctx.services.contains_key(&r.service) {
        let known: Vec<&str> = ctx.services.keys().map(String::as_str).collect();
        let hint = crate::diag::did_you_mean(&r.service, known.iter().copied())
            .unwrap_or_else(|| format!("declared services: {}", known.join(", ")));
        ctx.diags.undeclared_service(
            &format!("{path}.check.service"),
            &r.service,
            format!("`{}` is not a declared service; {hint}", r.service),
        );
    }
    let mut criteria = Vec::new();
    let mut ok = true;
    for (ci, text) in item.criteria.iter().enumerate() {
        let built = crate::expr::parse(text)
            .map_err(|e| (e.offset, e.message))
            .and_then(|c| resources::build(text, &c));
        match built {
            Ok(c) => criteria.push(c),
            Err((offset, message)) => {
                ctx.diags
                    .error_at_offset(&format!("{path}.criteria[{ci}]"), offset, message);
                ok = false;
            }
        }
    }
    if criteria.is_empty() {
        criteria.push(crate::criteria::no_restarts());
    }
    if let Some(d) = &r.during {
        if !ctx.earlier.contains(d) {
            let hint = crate::diag::did_you_mean(d, ctx.earlier.iter().map(String::as_str))
                .unwrap_or_else(|| {
                    "name an automated item that runs before this one (a load, typically)".into()
                });
            ctx.diags.error(
                &format!("{path}.check.during"),
                format!("`{d}` is not an earlier automated item of this checklist; {hint}"),
            );
            ok = false;
        }
    }
    ok.then(|| {
        ItemBody::Resources(ResourceItem {
            service: r.service.clone(),
            criteria,
            during: r.during.clone(),
        })
    })
}
