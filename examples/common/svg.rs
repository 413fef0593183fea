// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The residual-loss plot of the FEC measurements (examples/fec_residual.rs,
//! examples/flexfec_residual.rs): one panel per loss model, residual loss (y, log scale from
//! 0.001 % to 10 %; zero drawn at the bottom) vs FEC overhead (x), one line per series.
//! Hand-written SVG, no dependency.

use std::fmt::Write as _;

/// One line of the plot.
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Stroke colour (`#rrggbb`).
    pub color: &'static str,
    /// Stroke width.
    pub width: f64,
    /// SVG `stroke-dasharray` ("" for a solid line).
    pub dash: &'static str,
    /// Per panel: (overhead %, residual loss %) points, in overhead order.
    pub points: Vec<Vec<(f64, f64)>>,
}

/// The plot: `title` on top, one panel per name of `panels`, x from `x_range` (%) with
/// `x_ticks` labelled, the legend in rows of `legend_per_row`.
pub fn plot(
    title: &str,
    panels: &[&str],
    x_range: (f64, f64),
    x_ticks: &[f64],
    series: &[Series],
    legend_per_row: usize,
) -> String {
    let (pw, ph, ml, mt, gap) = (200.0, 260.0, 55.0, 45.0, 60.0);
    let legend_rows = series.len().div_ceil(legend_per_row.max(1));
    let width = ml + panels.len() as f64 * (pw + gap);
    let height = mt + ph + 60.0 + 20.0 * legend_rows as f64;
    let (lo, hi) = (-3.0f64, 1.0f64);
    let y_of = |v: f64| mt + ph - (v.max(1e-3).log10() - lo) / (hi - lo) * ph;
    let x_of = |o: f64| (o - x_range.0) / (x_range.1 - x_range.0) * pw;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{ml}" y="18" font-size="14">{title}</text>"#);
    for (pi, name) in panels.iter().enumerate() {
        let x0 = ml + pi as f64 * (pw + gap);
        let _ = writeln!(
            s,
            r#"<rect x="{x0}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="12">{name}</text>"#,
            x0 + pw / 2.0,
            mt - 6.0
        );
        for (e, label) in ["0.001%", "0.01%", "0.1%", "1%", "10%"].iter().enumerate() {
            let y = y_of(10f64.powi(e as i32 - 3));
            let _ = writeln!(
                s,
                "<line x1=\"{x0}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#dddddd\"/>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{label}</text>",
                x0 + pw,
                x0 - 3.0,
                y + 4.0
            );
        }
        for &o in x_ticks {
            let x = x0 + x_of(o);
            let _ = writeln!(
                s,
                r#"<text x="{x}" y="{}" text-anchor="middle">{o}%</text>"#,
                mt + ph + 14.0
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">FEC overhead</text>"#,
            x0 + pw / 2.0,
            mt + ph + 28.0
        );
        for line in series {
            let points: Vec<String> = line.points[pi]
                .iter()
                .map(|&(o, v)| format!("{:.1},{:.1}", x0 + x_of(o), y_of(v)))
                .collect();
            let dash = if line.dash.is_empty() {
                String::new()
            } else {
                format!(r#" stroke-dasharray="{}""#, line.dash)
            };
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-opacity="0.85" stroke-width="{}"{dash}/>"#,
                points.join(" "),
                line.color,
                line.width
            );
        }
    }
    for (i, line) in series.iter().enumerate() {
        let x = ml + (i % legend_per_row.max(1)) as f64 * 150.0;
        let y = mt + ph + 60.0 + 20.0 * (i / legend_per_row.max(1)) as f64;
        let dash = if line.dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{}""#, line.dash)
        };
        let _ = writeln!(
            s,
            r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{}" stroke-width="3"{dash}/><text x="{}" y="{}">{}</text>"#,
            x + 25.0,
            line.color,
            x + 30.0,
            y + 4.0,
            line.name
        );
    }
    s.push_str("</svg>\n");
    s
}
