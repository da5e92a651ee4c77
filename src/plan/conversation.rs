//! Plans WebSocket conversations (a `websocket` check's, a load request's): steps with
//! their captures, in order, so `{captured.NAME}` is valid only after the step that
//! captures NAME; the legacy one-message form (`send` + `expect`) as one step.

use super::expect::KindSubjects;
use super::{checks, Ctx};
use crate::check::conversation::{Before, Capture, Framing, Step};
use crate::spec::{BeforeSpec, FramingSpec, StepSpec};
use crate::units::Duration;
use std::collections::BTreeMap;

/// Names `measure` gives a meaning of its own, so no step may take them.
pub(super) const RESERVED: [&str; 2] = ["connect", "conversation"];

/// Name of the step the one-message form (`send` + `expect`) becomes.
pub(super) const REPLY: &str = "reply";

pub(super) fn framing(spec: Option<FramingSpec>) -> Framing {
    match spec {
        None | Some(FramingSpec::Message) => Framing::Message,
        Some(FramingSpec::RecordSeparator) => Framing::RecordSeparator,
    }
}

/// The HTTP requests before the upgrade; their captures join `ctx.captured`.
pub(super) fn before(ctx: &mut Ctx, path: &str, specs: &[BeforeSpec]) -> Option<Vec<Before>> {
    let mut out = Some(Vec::new());
    for (i, b) in specs.iter().enumerate() {
        let p = format!("{path}.before[{i}]");
        let request = checks::http(&b.request, &format!("{p}.request"), ctx);
        let capture = captures(ctx, &p, &b.capture, "body");
        match (request, capture, out.as_mut()) {
            (Some(request), Some(capture), Some(v)) => v.push(Before { request, capture }),
            _ => out = None,
        }
    }
    out
}

/// The steps at `path` (`…steps`), numbered from `first` for default names; their
/// captures join `ctx.captured` in order. `taken` holds names already used.
pub(super) fn steps(
    ctx: &mut Ctx,
    path: &str,
    specs: &[StepSpec],
    timeout: Duration,
    first: usize,
    taken: &mut Vec<String>,
) -> Option<Vec<Step>> {
    let mut out = Some(Vec::new());
    for (i, s) in specs.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let name = s
            .name
            .clone()
            .unwrap_or_else(|| format!("step-{}", first + i + 1));
        if RESERVED.contains(&name.as_str()) {
            ctx.diags.error_hint(
                &format!("{p}.name"),
                format!("`{name}` names the {name} time in `measure`, not a step"),
                "give the step another name, e.g. `handshake`",
            );
            out = None;
        } else if taken.contains(&name) {
            ctx.diags.error_hint(
                &format!("{p}.name"),
                format!("another step is already named `{name}`"),
                "give each step its own name",
            );
            out = None;
        }
        taken.push(name.clone());
        if s.send.is_none() && s.expect.is_empty() && s.capture.is_empty() {
            ctx.diags.error_hint(
                &p,
                "this step neither sends nor waits for anything",
                "give it `send`, `expect` (to wait for a message) or both",
            );
            out = None;
        }
        let send = s
            .send
            .as_ref()
            .map(|t| ctx.template(&format!("{p}.send"), t, false));
        let expect = checks::expectations(ctx, &p, &s.expect, KindSubjects::WebSocket);
        let timeout = checks::positive(ctx, &format!("{p}.timeout"), s.timeout, timeout);
        // Captured after the expectations are typed: a step cannot read its own capture.
        let capture = captures(ctx, &p, &s.capture, "message");
        match (send, expect, capture, out.as_mut()) {
            (Some(None), ..) => out = None,
            (send, Some(expect), Some(capture), Some(v)) => v.push(Step {
                name,
                send: send.flatten(),
                wait: !expect.is_empty() || !capture.is_empty(),
                expect,
                capture,
                timeout,
            }),
            _ => out = None,
        }
    }
    out
}

/// The one-message form as a step: `send` then the first message meeting `expect` (any
/// message when there is no expectation), or, with neither, no step.
pub(super) fn one_message(
    ctx: &mut Ctx,
    path: &str,
    send: Option<&String>,
    expect: &[String],
    timeout: Duration,
) -> Option<Vec<Step>> {
    if send.is_none() && expect.is_empty() {
        return Some(Vec::new());
    }
    let send = match send {
        Some(t) => Some(ctx.template(&format!("{path}.send"), t, false)?),
        None => None,
    };
    let expect = checks::expectations(ctx, path, expect, KindSubjects::WebSocket)?;
    Some(vec![Step {
        name: REPLY.into(),
        send,
        expect,
        capture: Vec::new(),
        wait: true,
        timeout,
    }])
}

/// `NAME: PREFIX.<path>` captures; each name becomes readable as `{captured.NAME}`.
fn captures(
    ctx: &mut Ctx,
    path: &str,
    specs: &BTreeMap<String, String>,
    prefix: &str,
) -> Option<Vec<Capture>> {
    let mut out = Some(Vec::new());
    for (name, text) in specs {
        let p = format!("{path}.capture.{name}");
        let name_ok = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
        if !name_ok {
            ctx.diags.error_hint(
                &p,
                format!("`{name}` cannot be a capture name"),
                "use letters, digits, `_` and `-`, starting with a letter, e.g. `token`",
            );
            out = None;
            continue;
        }
        let parsed = crate::expr::parse_path(text)
            .ok()
            .and_then(|segs| match segs.split_first() {
                Some((crate::expr::PathSeg::Key(head), rest))
                    if head == prefix && !rest.is_empty() =>
                {
                    Some(rest.to_vec())
                }
                _ => None,
            });
        match (parsed, out.as_mut()) {
            (Some(path), Some(v)) => {
                ctx.captured.insert(name.clone());
                v.push(Capture {
                    name: name.clone(),
                    path,
                    text: text.clone(),
                });
            }
            (Some(_), None) => {
                ctx.captured.insert(name.clone());
            }
            (None, _) => {
                ctx.diags.error_hint(
                    &p,
                    format!("`{text}` is not a value of the {prefix} to capture"),
                    format!("write `{prefix}.<path>`, e.g. `{prefix}.connectionToken` or `{prefix}.items[0].id`"),
                );
                out = None;
            }
        }
    }
    out
}
