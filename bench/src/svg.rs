//! The sweep's plot, as a hand-written SVG (no plotting crate): cost per million creates and the cold
//! start (init + first create, median) against the memory size, one line per binary.

use std::fmt::Write;

use serde_json::Value;

use crate::sweep::SIZES;

const COLOURS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#7f7f7f", "#bcbd22"];
const W: f64 = 440.0;
const H: f64 = 300.0;
const LEFT: f64 = 60.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 40.0;
const RIGHT: f64 = 20.0;

/// One panel: `series` (name, one value per size), a y axis from 0 to a round maximum.
fn panel(out: &mut String, x0: f64, title: &str, series: &[(String, Vec<f64>)]) {
    let max =
        series.iter().flat_map(|(_, v)| v.iter().copied()).filter(|v| v.is_finite()).fold(0.0, f64::max);
    let step = nice_step(max / 5.0);
    let top = (max / step).ceil().max(1.0) * step;
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let x = |i: usize| x0 + LEFT + pw * i as f64 / (SIZES.len() - 1) as f64;
    let y = |v: f64| TOP + ph * (1.0 - v / top);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" font-size="14" text-anchor="middle">{title}</text>"#,
        x0 + W / 2.0
    );
    let mut v = 0.0;
    while v <= top + step / 2.0 {
        let (x1, x2, yv, label) = (x0 + LEFT, x0 + W - RIGHT, y(v), trim(v));
        let _ = writeln!(
            out,
            r##"<line x1="{x1}" x2="{x2}" y1="{yv:.1}" y2="{yv:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{label}</text>"##,
            x1 - 6.0,
            yv + 4.0,
        );
        v += step;
    }
    for (i, mb) in SIZES.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{}" font-size="11" text-anchor="middle">{mb}</text>"#,
            x(i),
            H - BOTTOM + 16.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" font-size="12" text-anchor="middle">memory size (MB); CPU share = size / 1769</text>"#,
        x0 + LEFT + pw / 2.0,
        H - 6.0
    );
    for (k, (_, values)) in series.iter().enumerate() {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let colour = COLOURS[k % COLOURS.len()];
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            points.join(" ")
        );
        for p in &points {
            let (px, py) = p.split_once(',').expect("x,y");
            let _ = writeln!(out, r#"<circle cx="{px}" cy="{py}" r="3" fill="{colour}"/>"#);
        }
    }
}

/// A 1, 2 or 5 times a power of ten at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|s| *s >= raw).unwrap_or(10.0 * power)
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The SVG document for the sweep's `sizes` (as bench.json has them).
pub fn plot(sizes: &Value) -> String {
    let names: Vec<String> = crate::FUNCTIONS
        .iter()
        .map(|f| f.name.to_owned())
        .chain([crate::FLOOR.to_owned(), crate::HELLO.to_owned()])
        .collect();
    let values = |name: &str, get: &dyn Fn(&Value) -> Option<f64>| -> Vec<f64> {
        SIZES.iter().map(|mb| get(&sizes[mb.to_string()][name]).unwrap_or(f64::NAN)).collect()
    };
    let cost: Vec<(String, Vec<f64>)> =
        names[..4].iter().map(|n| (n.clone(), values(n, &|r| r["usd_per_million"].as_f64()))).collect();
    let cold: Vec<(String, Vec<f64>)> =
        names.iter().map(|n| (n.clone(), values(n, &|r| r["init_first_ms"]["p50"].as_f64()))).collect();
    let legend_h = 18.0 * names.len() as f64 / 2.0 + 10.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif">"#,
        2.0 * W,
        H + legend_h
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    panel(&mut out, 0.0, "USD per million warm creates", &cost);
    panel(&mut out, W, "init + first create, median (ms)", &cold);
    for (k, name) in names.iter().enumerate() {
        let (lx, ly) = (LEFT + (k % 2) as f64 * W, H + 14.0 + 18.0 * (k / 2) as f64);
        let _ = writeln!(
            out,
            r#"<rect x="{lx}" y="{}" width="14" height="4" fill="{}"/><text x="{}" y="{}" font-size="12">{name}</text>"#,
            ly - 4.0,
            COLOURS[k % COLOURS.len()],
            lx + 20.0,
            ly + 1.0
        );
    }
    out.push_str("</svg>\n");
    out
}
