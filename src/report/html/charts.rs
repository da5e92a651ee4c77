//! Inline SVG charts, written by hand: a line/bar chart over a numeric x axis with
//! threshold lines, event marks and shaded spans, and two small gauges. No script, no
//! external resource; colours come from classes the page's stylesheet defines, so the
//! print stylesheet can restyle them. Every text in them goes through maud's escaping.

use maud::{html, Markup};
use std::fmt::Write;

/// Drawing size in SVG user units; the SVG scales to the page's width.
const W: f64 = 600.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 34.0;
/// A threshold more than this many times above the data is named in the caption instead
/// of drawn, so a generous limit does not flatten the data to the axis.
const OFF_SCALE: f64 = 4.0;

/// A chart of one or more series over x.
pub struct Chart {
    /// Said to screen readers and shown above the chart.
    pub title: String,
    /// The SVG's class, naming what it plots (`c-latency`, `c-cpu`, ...), for the
    /// stylesheet and for tests that look for a chart.
    pub class: &'static str,
    pub x_label: String,
    pub y_unit: String,
    pub x_min: f64,
    pub x_max: f64,
    /// Tick positions and labels; empty for evenly spaced numeric ticks.
    pub x_ticks: Vec<(f64, String)>,
    pub series: Vec<Series>,
    /// Horizontal lines, e.g. a criterion's threshold.
    pub thresholds: Vec<Level>,
    /// Vertical marks, e.g. a drill or a rollback.
    pub marks: Vec<Mark>,
    /// Shaded x ranges, e.g. warm-up or a drill's recovery.
    pub spans: Vec<Span>,
    /// A sentence below the legend.
    pub note: Option<String>,
}

pub enum Shape {
    Line,
    /// Bars `width` x units wide, starting at each point's x.
    Bars {
        width: f64,
    },
}

pub struct Series {
    pub name: String,
    /// CSS class (`s-p50`, `s-p95`, `s-p99`, `s-err`, `s-dist`).
    pub class: &'static str,
    pub shape: Shape,
    /// `None` leaves a gap (a window without data).
    pub points: Vec<(f64, Option<f64>)>,
}

pub struct Level {
    pub value: f64,
    pub label: String,
    pub class: &'static str,
}

#[derive(Clone)]
pub struct Mark {
    pub x: f64,
    pub label: String,
    pub class: &'static str,
}

#[derive(Clone)]
pub struct Span {
    pub from: f64,
    pub to: f64,
    pub label: String,
    pub class: &'static str,
}

/// Evenly spaced "nice" ticks (steps of 1, 2 or 5 × 10ⁿ, about `target` of them) from
/// `min` rounded down up to at least `max`; returns the ticks and the axis end.
fn nice_ticks(min: f64, max: f64, target: usize) -> (Vec<(f64, String)>, f64) {
    let span = (max - min).max(f64::EPSILON);
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    // The round step nearest to the raw one (by ratio), so the tick count stays near `target`.
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .min_by(|a, b| (a / raw).ln().abs().total_cmp(&(b / raw).ln().abs()))
        .unwrap_or(mag);
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    let start = (min / step).floor() * step;
    let mut ticks = Vec::new();
    let mut k = 0;
    loop {
        let v = start + step * k as f64;
        ticks.push((v, format!("{v:.decimals$}")));
        if v >= max - step * 1e-9 || k > 50 {
            return (ticks, v);
        }
        k += 1;
    }
}

/// A number as SVG writes it: two decimals at most.
fn n(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Chart {
    pub fn render(&self) -> Markup {
        let data_max = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.1))
            .fold(0.0f64, f64::max);
        let shown: Vec<&Level> = self
            .thresholds
            .iter()
            .filter(|t| data_max == 0.0 || t.value <= data_max * OFF_SCALE)
            .collect();
        let off: Vec<&Level> = self
            .thresholds
            .iter()
            .filter(|t| !shown.iter().any(|s| std::ptr::eq(*s, *t)))
            .collect();
        let y_top = shown.iter().map(|t| t.value).fold(data_max, f64::max);
        let (y_ticks, y_max) = nice_ticks(0.0, if y_top > 0.0 { y_top } else { 1.0 }, 4);
        let x_span = (self.x_max - self.x_min).max(f64::EPSILON);
        let px = |x: f64| LEFT + (x - self.x_min) / x_span * (W - LEFT - RIGHT);
        let py = |y: f64| H - BOTTOM - y / y_max * (H - TOP - BOTTOM);
        let x_ticks = if self.x_ticks.is_empty() {
            nice_ticks(self.x_min, self.x_max, 8)
                .0
                .into_iter()
                .filter(|(x, _)| (self.x_min - 1e-9..=self.x_max + 1e-9).contains(x))
                .collect()
        } else {
            self.x_ticks.clone()
        };
        let (base, top) = (H - BOTTOM, TOP);
        html! {
            figure.chart {
                figcaption.chart-title { (self.title) }
                svg class=(self.class) viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(self.title) {
                    title { (self.title) }
                    @for s in &self.spans {
                        rect class=(format!("span {}", s.class)) x=(n(px(s.from)))
                            y=(n(top)) width=(n((px(s.to.min(self.x_max)) - px(s.from)).max(1.0)))
                            height=(n(base - top)) { title { (s.label) } }
                    }
                    @for (v, label) in &y_ticks {
                        line.grid x1=(n(LEFT)) x2=(n(W - RIGHT)) y1=(n(py(*v))) y2=(n(py(*v))) {}
                        text.tick x=(n(LEFT - 6.0)) y=(n(py(*v) + 4.0)) text-anchor="end" { (label) }
                    }
                    @for (x, label) in &x_ticks {
                        line.grid x1=(n(px(*x))) x2=(n(px(*x))) y1=(n(base)) y2=(n(base + 4.0)) {}
                        text.tick x=(n(px(*x))) y=(n(base + 16.0)) text-anchor="middle" { (label) }
                    }
                    text.axis x=(n(W - RIGHT)) y=(n(H - 2.0)) text-anchor="end" { (self.x_label) }
                    text.axis x="4" y=(n(top - 8.0)) { (self.y_unit) }
                    line.axis x1=(n(LEFT)) x2=(n(LEFT)) y1=(n(top)) y2=(n(base)) {}
                    line.axis x1=(n(LEFT)) x2=(n(W - RIGHT)) y1=(n(base)) y2=(n(base)) {}
                    @for s in &self.series { (series(s, &px, &py)) }
                    @for t in &shown {
                        line class=(format!("level {}", t.class)) x1=(n(LEFT)) x2=(n(W - RIGHT))
                            y1=(n(py(t.value))) y2=(n(py(t.value))) {}
                        text class=(format!("level-label {}", t.class)) x=(n(W - RIGHT - 4.0))
                            y=(n(py(t.value) - 4.0)) text-anchor="end" { (t.label) }
                    }
                    @for (k, m) in self.marks.iter().enumerate() {
                        line class=(format!("mark {}", m.class)) x1=(n(px(m.x))) x2=(n(px(m.x)))
                            y1=(n(top - 6.0 - 11.0 * (k % 3) as f64)) y2=(n(base)) {}
                        // Labels in the right third read leftwards, so none runs off the chart.
                        @let right = px(m.x) > LEFT + (W - LEFT - RIGHT) * 0.66;
                        text class=(format!("mark-label {}", m.class))
                            x=(n(px(m.x) + if right { -3.0 } else { 3.0 }))
                            y=(n(top - 8.0 - 11.0 * (k % 3) as f64))
                            text-anchor=(if right { "end" } else { "start" }) { (m.label) }
                    }
                }
                div.legend {
                    @for s in &self.series { span { i class=(format!("key {}", s.class)) {} (s.name) } }
                    @for t in &self.thresholds { span { i class=(format!("key level {}", t.class)) {} (t.label) } }
                    @for m in &self.marks { span { i class=(format!("key mark {}", m.class)) {} (m.label) } }
                    @for s in &self.spans { span { i class=(format!("key span {}", s.class)) {} (s.label) } }
                }
                @if !off.is_empty() {
                    p.note {
                        "Off the scale (more than " (OFF_SCALE) "× the largest value): "
                        (off.iter().map(|t| t.label.as_str()).collect::<Vec<_>>().join(", ")) "."
                    }
                }
                @if let Some(note) = &self.note { p.note { (note) } }
            }
        }
    }
}

fn series(s: &Series, px: &dyn Fn(f64) -> f64, py: &dyn Fn(f64) -> f64) -> Markup {
    match s.shape {
        Shape::Bars { width } => html! {
            g class=(format!("bars {}", s.class)) {
                @for (x, y) in s.points.iter().filter_map(|(x, y)| y.map(|y| (*x, y))) {
                    rect x=(n(px(x) + 0.5)) y=(n(py(y))) width=(n((px(x + width) - px(x) - 1.0).max(1.0)))
                        height=(n((py(0.0) - py(y)).max(if y > 0.0 { 1.0 } else { 0.0 }))) {}
                }
            }
        },
        Shape::Line => {
            // Segments between gaps; dots too, so a single window still shows.
            let mut runs: Vec<String> = Vec::new();
            let mut current = String::new();
            for (x, y) in &s.points {
                match y {
                    Some(y) => {
                        let _ = write!(current, "{},{} ", n(px(*x)), n(py(*y)));
                    }
                    None if !current.is_empty() => runs.push(std::mem::take(&mut current)),
                    None => {}
                }
            }
            if !current.is_empty() {
                runs.push(current);
            }
            let dots = s.points.len() <= 60;
            html! {
                g class=(format!("line {}", s.class)) {
                    @for r in &runs { polyline points=(r.trim_end()) {} }
                    @if dots {
                        @for (x, y) in s.points.iter().filter_map(|(x, y)| y.map(|y| (*x, y))) {
                            circle cx=(n(px(x))) cy=(n(py(y))) r="2.5" {}
                        }
                    }
                }
            }
        }
    }
}

/// A criterion's observed value against its threshold on one small scale: a bar for the
/// observation, a tick for the threshold.
pub fn gauge(observed: f64, threshold: f64, outcome_class: &str, label: &str) -> Markup {
    const GW: f64 = 120.0;
    const GH: f64 = 14.0;
    let top = observed.max(threshold).max(f64::MIN_POSITIVE) * 1.25;
    let x = |v: f64| (v.max(0.0) / top * GW).min(GW);
    html! {
        svg.gauge viewBox=(format!("0 0 {GW} {GH}")) role="img" aria-label=(label) {
            title { (label) }
            rect.track x="0" y="3" width=(n(GW)) height="8" {}
            rect class=(format!("bar {outcome_class}")) x="0" y="3" width=(n(x(observed))) height="8" {}
            line.threshold x1=(n(x(threshold))) x2=(n(x(threshold))) y1="0" y2=(n(GH)) {}
        }
    }
}

/// Horizontal bars, each `(label, value, shown value)` scaled to the largest in the group.
pub fn bars(title: &str, class: &str, rows: &[(String, f64, String)]) -> Markup {
    const BW: f64 = 260.0;
    const ROW: f64 = 16.0;
    const LABEL: f64 = 70.0;
    let max = rows
        .iter()
        .map(|r| r.1)
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let h = ROW * rows.len() as f64 + 4.0;
    html! {
        svg.bars-h viewBox=(format!("0 0 {} {}", n(BW + LABEL + 90.0), n(h))) role="img" aria-label=(title) {
            title { (title) }
            @for (k, (label, v, shown)) in rows.iter().enumerate() {
                text.tick x=(n(LABEL - 6.0)) y=(n(ROW * k as f64 + 13.0)) text-anchor="end" { (label) }
                rect class=(format!("bar {class}")) x=(n(LABEL)) y=(n(ROW * k as f64 + 3.0))
                    width=(n((v / max * BW).max(1.0))) height="11" {}
                text.tick x=(n(LABEL + (v / max * BW).max(1.0) + 4.0)) y=(n(ROW * k as f64 + 13.0)) { (shown) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let (ticks, end) = nice_ticks(0.0, 87.0, 4);
        assert_eq!(
            ticks.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
            ["0", "20", "40", "60", "80", "100"]
        );
        assert_eq!(end, 100.0);
        let (ticks, _) = nice_ticks(0.0, 0.7, 4);
        assert_eq!(ticks[1].1, "0.2");
    }

    fn chart(threshold: f64) -> String {
        Chart {
            title: "p95 <over> time".into(),
            class: "c-latency",
            x_label: "s".into(),
            y_unit: "ms".into(),
            x_min: 0.0,
            x_max: 10.0,
            x_ticks: vec![],
            series: vec![Series {
                name: "p95".into(),
                class: "s-p95",
                shape: Shape::Line,
                points: vec![
                    (0.5, Some(10.0)),
                    (1.5, None),
                    (2.5, Some(20.0)),
                    (3.5, Some(30.0)),
                ],
            }],
            thresholds: vec![Level {
                value: threshold,
                label: "p95 < limit".into(),
                class: "t-pass",
            }],
            marks: vec![Mark {
                x: 3.0,
                label: "pause \"api\"".into(),
                class: "m-drill",
            }],
            spans: vec![],
            note: None,
        }
        .render()
        .into_string()
    }

    #[test]
    fn a_chart_breaks_lines_at_gaps_and_escapes_its_text() {
        let svg = chart(25.0);
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
        assert!(svg.contains("p95 &lt;over&gt; time"), "{svg}");
        assert!(svg.contains("pause &quot;api&quot;"), "{svg}");
        assert!(svg.contains("class=\"level t-pass\""), "{svg}");
        assert!(!svg.contains("Off the scale"), "{svg}");
    }

    #[test]
    fn a_threshold_far_above_the_data_is_named_not_drawn() {
        let svg = chart(5000.0);
        assert!(!svg.contains("class=\"level t-pass\""), "{svg}");
        assert!(svg.contains("Off the scale"), "{svg}");
    }
}
