//! Markdown → sanitised HTML, for `election_desc.md`, `results.md` and candidate bodies.
//!
//! Elekto renders with markdown2 (extra `cuddled-lists`) and does **not** sanitise. votebox renders
//! CommonMark with tables, strikethrough and task lists (a bullet list may interrupt a paragraph,
//! which covers `cuddled-lists`), then always runs the result through ammonia: `<script>`, `on*`
//! handlers, `javascript:`/`data:` URLs and HTML comments are removed, links get
//! `rel="noopener noreferrer"`. Ordinary safe HTML (`<b>`, `<br>`, tables, headings, `http(s)` images)
//! is kept.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{Options, Parser, html};

/// The sanitiser, built once: ammonia's defaults plus what pulldown-cmark's own output needs.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    // Task-list checkboxes (`- [x] done`): always rendered as disabled checkboxes, whatever the
    // source said (a raw `<input type="text">` becomes a harmless disabled checkbox too).
    b.add_tags(["input"])
        .add_tag_attributes("input", ["checked"])
        .set_tag_attribute_value("input", "type", "checkbox")
        .set_tag_attribute_value("input", "disabled", "")
        // Table column alignment (`|:--|--:|`) is emitted as `style="text-align: …"`.
        .add_tag_attributes("th", ["style"])
        .add_tag_attributes("td", ["style"])
        .filter_style_properties(HashSet::from(["text-align"]));
    b
});

/// Renders Markdown to sanitised HTML. Blank input gives an empty string.
pub fn render_markdown(md: &str) -> String {
    if md.trim().is_empty() {
        return String::new();
    }
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut raw = String::with_capacity(md.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(md, options));
    SANITIZER.clean(&raw).to_string()
}

#[cfg(test)]
mod tests {
    use super::render_markdown;

    #[test]
    fn blank_is_empty() {
        assert_eq!(render_markdown(""), "");
        assert_eq!(render_markdown("  \n\n\t\n"), "");
    }

    #[test]
    fn basic_markdown() {
        let html = render_markdown("# Title\n\nSome **bold** and ~~gone~~ text.\n");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(html.contains("<del>gone</del>"), "{html}");
    }

    #[test]
    fn cuddled_list_after_paragraph() {
        // markdown2's `cuddled-lists` extra: a list directly after a paragraph line.
        let html = render_markdown("My priorities:\n- one\n- two\n");
        assert!(html.contains("<ul>"), "{html}");
        assert!(html.contains("<li>one</li>"), "{html}");
    }

    #[test]
    fn tables_and_alignment() {
        let html = render_markdown("| a | b |\n|:--|--:|\n| 1 | 2 |\n");
        assert!(html.contains("<table>"), "{html}");
        assert!(
            html.contains("<th style=\"text-align:left\">a</th>"),
            "{html}"
        );
        assert!(
            html.contains("<td style=\"text-align:right\">2</td>"),
            "{html}"
        );
    }

    #[test]
    fn task_list_checkboxes_are_disabled() {
        let html = render_markdown("- [x] done\n- [ ] todo\n");
        assert!(html.contains("<input"), "{html}");
        assert!(html.contains("type=\"checkbox\""), "{html}");
        assert!(html.contains("disabled"), "{html}");
        assert!(html.contains("checked"), "{html}");
        let raw = render_markdown("<input type=\"text\" name=\"x\" value=\"y\">\n");
        assert!(!raw.contains("text"), "{raw}");
        assert!(!raw.contains("name="), "{raw}");
    }

    #[test]
    fn xss_script_removed() {
        let html = render_markdown("Hi\n\n<script>alert(1)</script>\n\nbye");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("alert(1)"), "{html}");
        assert!(html.contains("bye"), "{html}");
    }

    #[test]
    fn xss_event_handlers_removed() {
        let html =
            render_markdown("<img src=\"https://example.com/x.png\" onerror=\"alert(1)\">\n");
        assert!(!html.contains("onerror"), "{html}");
        assert!(html.contains("src=\"https://example.com/x.png\""), "{html}");
        let html = render_markdown("<b onclick=\"alert(1)\" onmouseover=\"x()\">b</b>");
        assert!(
            !html.contains("onclick") && !html.contains("onmouseover"),
            "{html}"
        );
        assert!(html.contains("<b>b</b>"), "{html}");
    }

    #[test]
    fn xss_javascript_urls_removed() {
        let html = render_markdown("[click](javascript:alert(1))");
        assert!(!html.contains("javascript:"), "{html}");
        let html = render_markdown("<a href=\"javascript:alert(1)\">x</a>");
        assert!(!html.contains("javascript:"), "{html}");
        let html = render_markdown("<a href=\"JaVaScRiPt:alert(1)\">x</a>");
        assert!(!html.to_ascii_lowercase().contains("javascript:"), "{html}");
        let html = render_markdown("![x](data:text/html;base64,PHNjcmlwdD4=)");
        assert!(!html.contains("data:"), "{html}");
    }

    #[test]
    fn links_get_noopener() {
        let html = render_markdown("[Elekto](https://elekto.dev)");
        assert!(html.contains("href=\"https://elekto.dev\""), "{html}");
        assert!(html.contains("rel=\"noopener noreferrer\""), "{html}");
        // Relative links (e.g. `/app/elections/2023---Paketo-SC/exception`) are kept.
        let html = render_markdown("[form](/app/elections/2023---Paketo-SC/exception)");
        assert!(
            html.contains("href=\"/app/elections/2023---Paketo-SC/exception\""),
            "{html}"
        );
    }

    #[test]
    fn safe_html_kept() {
        let html = render_markdown("line<br>next <b>bold</b> <i>it</i>\n");
        assert!(html.contains("<br>"), "{html}");
        assert!(html.contains("<b>bold</b>"), "{html}");
        assert!(html.contains("<i>it</i>"), "{html}");
        let html = render_markdown("![logo](https://example.com/logo.png)");
        assert!(
            html.contains("<img src=\"https://example.com/logo.png\" alt=\"logo\">"),
            "{html}"
        );
    }

    #[test]
    fn deep_nesting_does_not_crash() {
        for md in [
            ">".repeat(2000),
            "<div>".repeat(2000),
            "[".repeat(2000),
            "*a".repeat(2000),
        ] {
            let _ = render_markdown(&md);
        }
    }

    #[test]
    fn html_comments_removed() {
        let html = render_markdown("<!-- template leftover -->\nHello\n");
        assert!(!html.contains("template leftover"), "{html}");
        assert!(html.contains("Hello"), "{html}");
    }
}
