//! Builds and registers prometheus collectors from [`MetricDef`]s, so that no name,
//! help text, label list or bucket layout is written anywhere but `names.rs`.

use super::names::{Kind, MetricDef};
use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
};

// Registration fails only on an invalid or duplicate name or label, which are constants
// in names.rs checked by the unit tests: a failure is a programming error, so it panics
// with the metric's name rather than surfacing a runtime error no caller could handle.
fn register<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    def: &MetricDef,
    collector: Result<C, prometheus::Error>,
) -> C {
    let collector = collector.unwrap_or_else(|e| panic!("metric {} is invalid: {e}", def.name));
    registry
        .register(Box::new(collector.clone()))
        .unwrap_or_else(|e| panic!("metric {} cannot be registered: {e}", def.name));
    collector
}

fn opts(def: &MetricDef, kind: Kind) -> Opts {
    assert_eq!(
        def.kind, kind,
        "metric {} is declared as {:?}",
        def.name, def.kind
    );
    Opts::new(def.name, def.help)
}

pub(super) fn int_counter(registry: &Registry, def: &MetricDef) -> IntCounterVec {
    let c = IntCounterVec::new(opts(def, Kind::Counter), def.labels);
    register(registry, def, c)
}

pub(super) fn int_gauge(registry: &Registry, def: &MetricDef) -> IntGaugeVec {
    let g = IntGaugeVec::new(opts(def, Kind::Gauge), def.labels);
    register(registry, def, g)
}

pub(super) fn gauge(registry: &Registry, def: &MetricDef) -> GaugeVec {
    let g = GaugeVec::new(opts(def, Kind::Gauge), def.labels);
    register(registry, def, g)
}

pub(super) fn histogram(registry: &Registry, def: &MetricDef) -> HistogramVec {
    let opts = HistogramOpts::from(opts(def, Kind::Histogram)).buckets(def.buckets.to_vec());
    let h = HistogramVec::new(opts, def.labels);
    register(registry, def, h)
}
