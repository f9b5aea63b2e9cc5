//! What every SVG picture of echoctl is drawn on: the page (its size, its title and a white
//! ground), the ink and grid colours, the sans-serif font, and plain lines. The bench's chart
//! ([`crate::bench::chart`]) and the timeline ([`crate::timeline::svg`]) share them, so the two
//! look like one family on a slide.

use svg::Document;
use svg::node::element::{Line, Rectangle, Title};

/// Text and axes.
pub(crate) const INK: &str = "#222222";
/// Grid lines, behind everything else.
pub(crate) const GRID: &str = "#e4e4e4";
/// The font of headings, axes and legends; the fallbacks are what a slide deck's machine has.
pub(crate) const SANS: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

/// A page `width` by `height`, titled `title` (what a viewer shows for the file), on white.
pub(crate) fn page(width: f64, height: f64, title: &str) -> Document {
    Document::new()
        .set("viewBox", (0, 0, width, height))
        .set("width", width)
        .set("height", height)
        .add(Title::new(title))
        .add(
            Rectangle::new()
                .set("width", width)
                .set("height", height)
                .set("fill", "white"),
        )
}

/// A line from `(x1, y1)` to `(x2, y2)` in `stroke`, `width` wide.
pub(crate) fn line(x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) -> Line {
    Line::new()
        .set("x1", x1)
        .set("y1", y1)
        .set("x2", x2)
        .set("y2", y2)
        .set("stroke", stroke)
        .set("stroke-width", width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_its_size_its_escaped_title_and_a_white_ground() {
        assert_eq!(
            page(1280.0, 742.5, "a <b> & c").to_string(),
            "<svg height=\"742.5\" viewBox=\"0 0 1280 742.5\" width=\"1280\" \
             xmlns=\"http://www.w3.org/2000/svg\">\n\
             <title>a &lt;b&gt; &amp; c</title>\n\
             <rect fill=\"white\" height=\"742.5\" width=\"1280\"/>\n\
             </svg>"
        );
        assert_eq!(
            line(1.0, 2.5, 3.0, 4.0, GRID, 1.5).to_string(),
            "<line stroke=\"#e4e4e4\" stroke-width=\"1.5\" x1=\"1\" x2=\"3\" y1=\"2.5\" y2=\"4\"/>"
        );
    }
}
