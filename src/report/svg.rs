//! The report's charts as inline SVG, drawn here (no chart library): horizontal bars with their
//! numbers written beside them, columns over time, and the clean-claim gauge against its target.
//! Every chart has a `<title>` and `<desc>`, every bar its own `<title>`; the colours are of
//! Okabe and Ito's colour-blind safe set, with dark text on white for every label, so nothing is
//! read from a colour alone and no legend is needed.

use super::html::esc;

/// Held (vermillion, 3.6:1 on white) and clean (blue, 5.1:1), and the text colour.
pub const HELD: &str = "#D55E00";
pub const CLEAN: &str = "#0072B2";
const INK: &str = "#1b1b1b";
const MUTED: &str = "#595959";
const TRACK: &str = "#e8e8e8";

const WIDTH: f64 = 940.0;
/// Estimated advance of a character at 13px: labels (mostly capitals and digits), and the mixed
/// text beside the bars (with bold numbers).
const CHAR: f64 = 8.4;
const TEXT_CHAR: f64 = 7.4;

/// A part of the text written beside a bar; `ptr` marks a number of summary.json.
pub struct Part {
    pub text: String,
    pub ptr: Option<String>,
    pub strong: bool,
}

impl Part {
    pub fn plain(text: impl Into<String>) -> Part {
        Part {
            text: text.into(),
            ptr: None,
            strong: false,
        }
    }

    pub fn number(n: &super::Num) -> Part {
        Part {
            text: n.show(),
            ptr: n.ptr.clone(),
            strong: true,
        }
    }
}

pub struct Bar {
    pub label: String,
    pub value: f64,
    pub parts: Vec<Part>,
    /// The bar's tooltip and accessible name.
    pub tip: String,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to `n` characters, with an ellipsis when cut.
fn fit(s: &str, n: usize) -> String {
    if chars(s) <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn parts_svg(parts: &[Part]) -> String {
    let mut out = String::new();
    for p in parts {
        out += "<tspan";
        if p.strong {
            out += " font-weight=\"600\"";
        }
        if let Some(ptr) = &p.ptr {
            out += &format!(" data-s=\"{}\"", esc(ptr));
        }
        out += &format!(">{}</tspan>", esc(&p.text));
    }
    out
}

fn open(id: &str, height: f64, title: &str, desc: &str) -> String {
    format!(
        "<svg class=\"chart\" id=\"{id}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" \
         viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" \
         preserveAspectRatio=\"xMinYMin meet\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        esc(title),
        esc(desc)
    )
}

/// Horizontal bars, longest first as given; each labelled on the left, its numbers on the right.
pub fn bars(id: &str, title: &str, desc: &str, rows: &[Bar], colour: &str) -> String {
    const ROW: f64 = 28.0;
    let label_chars = rows
        .iter()
        .map(|r| chars(&r.label))
        .max()
        .unwrap_or(0)
        .clamp(6, 34);
    let label_w = label_chars as f64 * CHAR + 8.0;
    let text_chars = rows
        .iter()
        .map(|r| r.parts.iter().map(|p| chars(&p.text)).sum::<usize>())
        .max()
        .unwrap_or(0);
    let x0 = label_w + 6.0;
    // the text beside the longest bar must fit: the bars give way, down to a third of the width
    let text_w = text_chars as f64 * TEXT_CHAR + 12.0;
    let span = (WIDTH - x0 - text_w).max(WIDTH / 3.0);
    let max = rows.iter().map(|r| r.value).fold(0.0f64, f64::max);
    let height = rows.len() as f64 * ROW + 8.0;
    let mut out = open(id, height, title, desc);
    for (i, r) in rows.iter().enumerate() {
        let y = 4.0 + i as f64 * ROW;
        let w = if max > 0.0 && r.value > 0.0 {
            (r.value / max * span).max(2.0)
        } else {
            0.0
        };
        out += &format!(
            "<g class=\"bar\"><title>{tip}</title>\
             <text x=\"{lx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" fill=\"{INK}\">{label}</text>\
             <rect x=\"{x0:.1}\" y=\"{ry:.1}\" width=\"{w:.1}\" height=\"18\" rx=\"2\" fill=\"{colour}\"/>\
             <text x=\"{vx:.1}\" y=\"{ty:.1}\" fill=\"{INK}\">{parts}</text></g>",
            tip = esc(&r.tip),
            lx = label_w,
            ty = y + 14.5,
            label = esc(&fit(&r.label, label_chars)),
            ry = y + 1.0,
            vx = x0 + w + 6.0,
            parts = parts_svg(&r.parts),
        );
    }
    out + "</svg>"
}

/// Two-part bars on a 0-100 % scale with a target line: the share of `a` (e.g. clean claims) of
/// each row, the rest drawn as the track.
pub struct Share {
    pub label: String,
    /// Percent, 0-100.
    pub percent: f64,
    pub parts: Vec<Part>,
    pub tip: String,
}

pub fn shares(id: &str, title: &str, desc: &str, rows: &[Share], target: f64) -> String {
    const ROW: f64 = 30.0;
    let label_chars = rows
        .iter()
        .map(|r| chars(&r.label))
        .max()
        .unwrap_or(0)
        .clamp(6, 24);
    let label_w = label_chars as f64 * CHAR + 8.0;
    let x0 = label_w + 6.0;
    let span = 300.0;
    let top = 18.0;
    let height = top + rows.len() as f64 * ROW + 6.0;
    let mut out = open(id, height, title, desc);
    let tx = x0 + span * target / 100.0;
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as f64 * ROW;
        let w = span * r.percent.clamp(0.0, 100.0) / 100.0;
        let colour = if r.percent >= target { CLEAN } else { HELD };
        out += &format!(
            "<g class=\"bar\"><title>{tip}</title>\
             <text x=\"{lx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" fill=\"{INK}\">{label}</text>\
             <rect x=\"{x0:.1}\" y=\"{ry:.1}\" width=\"{span:.1}\" height=\"18\" rx=\"2\" fill=\"{TRACK}\"/>\
             <rect x=\"{x0:.1}\" y=\"{ry:.1}\" width=\"{w:.1}\" height=\"18\" rx=\"2\" fill=\"{colour}\"/>\
             <text x=\"{vx:.1}\" y=\"{ty:.1}\" fill=\"{INK}\">{parts}</text></g>",
            tip = esc(&r.tip),
            lx = label_w,
            ty = y + 14.5,
            label = esc(&fit(&r.label, label_chars)),
            ry = y + 1.0,
            vx = x0 + span + 10.0,
            parts = parts_svg(&r.parts),
        );
    }
    out += &format!(
        "<line x1=\"{tx:.1}\" x2=\"{tx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{INK}\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>\
         <text x=\"{tx:.1}\" y=\"12\" text-anchor=\"middle\" fill=\"{INK}\" font-size=\"12\">{target} % target</text>",
        top - 2.0,
        height - 4.0
    );
    out + "</svg>"
}

/// The clean-claim rate on a 0-100 % track with the target marked.
pub fn gauge(id: &str, percent: f64, shown: &[Part], target: f64) -> String {
    let (x0, span, height) = (4.0, WIDTH - 8.0, 62.0);
    let w = span * percent.clamp(0.0, 100.0) / 100.0;
    let tx = x0 + span * target / 100.0;
    let colour = if percent >= target { CLEAN } else { HELD };
    let rate: String = shown.iter().map(|p| p.text.as_str()).collect();
    let mut out = open(
        id,
        height,
        "Clean-claim rate against the target",
        &format!("{rate} % of claims clean; clearinghouses count {target} % as good"),
    );
    out += &format!(
        "<rect x=\"{x0}\" y=\"22\" width=\"{span}\" height=\"22\" rx=\"3\" fill=\"{TRACK}\"/>\
         <rect class=\"fill\" x=\"{x0}\" y=\"22\" width=\"{w:.1}\" height=\"22\" rx=\"3\" fill=\"{colour}\"><title>{} % clean</title></rect>\
         <line x1=\"{tx:.1}\" x2=\"{tx:.1}\" y1=\"16\" y2=\"50\" stroke=\"{INK}\" stroke-width=\"2\"/>\
         <text x=\"{tx:.1}\" y=\"12\" text-anchor=\"end\" fill=\"{INK}\" font-size=\"12\">{target} % target</text>\
         <text x=\"{x0}\" y=\"60\" fill=\"{MUTED}\" font-size=\"11\">0 %</text>\
         <text x=\"{:.1}\" y=\"60\" text-anchor=\"end\" fill=\"{MUTED}\" font-size=\"11\">100 %</text>",
        esc(&rate),
        x0 + span
    );
    out + "</svg>"
}

pub struct Column {
    pub label: String,
    pub value: f64,
    /// Written above the column.
    pub text: String,
    pub tip: String,
}

/// Columns over time, each with its value written above it (turned upright when columns are
/// narrow) and every few a date below.
pub fn columns(id: &str, title: &str, desc: &str, cols: &[Column]) -> String {
    let n = cols.len().max(1) as f64;
    let (left, right, top, plot_h) = (8.0, 8.0, 16.0, 190.0);
    let slot = (WIDTH - left - right) / n;
    let narrow = slot < 44.0;
    let head = if narrow {
        cols.iter().map(|c| chars(&c.text)).max().unwrap_or(0) as f64 * 6.4 + 8.0
    } else {
        18.0
    };
    let base = top + head + plot_h;
    let height = base + 40.0;
    let max = cols.iter().map(|c| c.value).fold(0.0f64, f64::max);
    // a date under every k-th column, as many as fit
    let every = ((78.0 / slot).ceil() as usize).max(1);
    let mut out = open(id, height, title, desc);
    out += &format!(
        "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{base:.1}\" y2=\"{base:.1}\" stroke=\"{MUTED}\"/>",
        WIDTH - right
    );
    for (i, c) in cols.iter().enumerate() {
        let x = left + i as f64 * slot;
        let h = if max > 0.0 && c.value > 0.0 {
            (c.value / max * plot_h).max(2.0)
        } else {
            0.0
        };
        let bw = (slot * 0.72).max(1.0);
        let cx = x + slot / 2.0;
        let value = if narrow {
            format!(
                "<text x=\"{cx:.1}\" y=\"{y:.1}\" transform=\"rotate(-90 {cx:.1} {y:.1})\" dy=\"0.35em\" font-size=\"11\" fill=\"{INK}\">{t}</text>",
                y = base - h - 4.0,
                t = esc(&c.text)
            )
        } else {
            format!(
                "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" fill=\"{INK}\">{}</text>",
                base - h - 5.0,
                esc(&c.text)
            )
        };
        out += &format!(
            "<g class=\"bar\"><title>{}</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{h:.1}\" fill=\"{HELD}\"/>{value}",
            esc(&c.tip),
            cx - bw / 2.0,
            base - h
        );
        if i % every == 0 {
            out += &format!(
                "<line x1=\"{cx:.1}\" x2=\"{cx:.1}\" y1=\"{base:.1}\" y2=\"{:.1}\" stroke=\"{MUTED}\"/>\
                 <text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" fill=\"{MUTED}\">{}</text>",
                base + 4.0,
                base + 18.0,
                esc(&c.label)
            );
        }
        out += "</g>";
    }
    out + "</svg>"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_cut() {
        let svg = bars(
            "x",
            "t",
            "d",
            &[Bar {
                label: "<script>alert(1)</script>".repeat(3),
                value: 1.0,
                parts: vec![Part::plain("\"><img onerror=x>")],
                tip: "<b>".into(),
            }],
            HELD,
        );
        assert!(!svg.contains("<script>") && !svg.contains("<img") && !svg.contains("<b>"));
        assert!(svg.contains("&lt;script&gt;") && svg.contains('…'));
    }

    #[test]
    fn bars_scale_to_the_largest() {
        let rows: Vec<Bar> = [4.0, 2.0, 0.0]
            .iter()
            .map(|&v| Bar {
                label: "A".into(),
                value: v,
                parts: vec![],
                tip: String::new(),
            })
            .collect();
        let svg = bars("x", "t", "d", &rows, HELD);
        let widths: Vec<f64> = svg
            .split("<rect ")
            .skip(1)
            .map(|r| {
                let w = r.split("width=\"").nth(1).unwrap();
                w[..w.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(widths.len(), 3);
        assert!((widths[0] - 2.0 * widths[1]).abs() < 0.2, "{widths:?}");
        assert_eq!(widths[2], 0.0);
    }
}
