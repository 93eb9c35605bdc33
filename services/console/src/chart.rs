//! The 24-hour usage chart as SVG, drawn on the server: one bar per slice
//! of `GetUsage.series`, each as tall as the calls counted in the window up
//! to the end of that slice (so the last bar is the window's use), against
//! a line at the allocation. Pure: the series in, markup out; every number
//! and label is produced here, so nothing a service sends becomes markup.

use std::fmt::Write;

use crate::format;

/// The drawing's size in SVG units; it scales to the page's width.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
/// Room for the axis labels.
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 16.0;

/// One slice of the window.
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    /// Its start, as shown ("04:00").
    pub label: String,
    /// Calls granted in it.
    pub calls: u64,
}

/// The chart of `slices` against `allocation`, as an SVG element.
pub fn usage_svg(slices: &[Slice], allocation: u64) -> String {
    let mut running = 0u64;
    let totals: Vec<u64> = slices
        .iter()
        .map(|s| {
            running = running.saturating_add(s.calls);
            running
        })
        .collect();
    let top = totals
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(allocation)
        .max(1) as f64;
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let y = |v: u64| TOP + plot_h - (v as f64 / top) * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">Calls counted in the rolling window, slice by slice, against the allocation of {}</title>"#,
        format::count(allocation)
    );
    // The axis: zero and the top value.
    let _ = write!(
        svg,
        r#"<line x1="{LEFT}" y1="{b}" x2="{r}" y2="{b}" stroke="currentColor" stroke-width="1"/><text x="{lx}" y="{b}" text-anchor="end" font-size="12" fill="currentColor">0</text><text x="{lx}" y="{t}" text-anchor="end" font-size="12" fill="currentColor">{top}</text>"#,
        b = y(0),
        r = WIDTH - 8.0,
        lx = LEFT - 6.0,
        t = TOP + 10.0,
        top = format::count(top as u64),
    );
    if !slices.is_empty() {
        let step = plot_w / slices.len() as f64;
        for (i, (slice, total)) in slices.iter().zip(&totals).enumerate() {
            let x = LEFT + i as f64 * step + step * 0.1;
            let top_y = y(*total);
            let _ = write!(
                svg,
                r#"<rect class="bar" x="{x:.1}" y="{top_y:.1}" width="{w:.1}" height="{h:.1}"><title>{label}: {calls} calls in the slice, {total} in the window so far</title></rect>"#,
                w = step * 0.8,
                h = (y(0) - top_y).max(0.0),
                label = escape(&slice.label),
                calls = format::count(slice.calls),
                total = format::count(*total),
            );
            // A label every fourth slice keeps them from overlapping.
            if i % 4 == 0 {
                let _ = write!(
                    svg,
                    r#"<text x="{x:.1}" y="{ly}" font-size="11" fill="currentColor">{}</text>"#,
                    escape(&slice.label),
                    ly = HEIGHT - 8.0,
                );
            }
        }
    }
    let ay = y(allocation);
    let _ = write!(
        svg,
        r#"<line class="allocation" x1="{LEFT}" y1="{ay:.1}" x2="{r}" y2="{ay:.1}" stroke-width="2" stroke-dasharray="6 4"/><text x="{r}" y="{ty:.1}" text-anchor="end" font-size="12" fill="currentColor">allocation {a}</text></svg>"#,
        r = WIDTH - 8.0,
        ty = (ay - 4.0).max(12.0),
        a = format::count(allocation),
    );
    svg
}

/// Text safe inside SVG markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slices(calls: &[u64]) -> Vec<Slice> {
        calls
            .iter()
            .enumerate()
            .map(|(i, c)| Slice {
                label: format!("{i:02}:00"),
                calls: *c,
            })
            .collect()
    }

    #[test]
    fn one_bar_per_slice_and_one_allocation_line() {
        let svg = usage_svg(&slices(&[10, 0, 5]), 100);
        assert_eq!(svg.matches("<rect").count(), 3);
        assert_eq!(svg.matches(r#"class="allocation""#).count(), 1);
        assert!(svg.contains("allocation 100"));
        assert!(svg.contains("15 in the window so far"));
    }

    #[test]
    fn bars_grow_with_the_running_total_and_stay_inside_the_drawing() {
        let svg = usage_svg(&slices(&[50, 50, 100]), 100);
        // The window passed the allocation: the top is the total, 200.
        assert!(svg.contains(">200<"));
        for part in svg.split("height=\"").skip(1) {
            let h: f64 = part.split('"').next().unwrap().parse().unwrap();
            assert!((0.0..=HEIGHT).contains(&h), "{h}");
        }
    }

    #[test]
    fn an_empty_window_and_a_zero_allocation_draw_without_dividing_by_zero() {
        let svg = usage_svg(&[], 0);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn labels_are_escaped() {
        let svg = usage_svg(
            &[Slice {
                label: "<script>".into(),
                calls: 1,
            }],
            1,
        );
        assert!(!svg.contains("<script>"));
    }
}
