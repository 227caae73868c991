//! Reading the sandboxes' HTML forms as a browser would. Just enough HTML for the pages the
//! sandboxes render: attribute values in double quotes, a space before each attribute.

/// Undoes HTML escaping in text and attribute values.
pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of `name="…"` inside one tag.
pub fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// One `<form>` of a page.
#[derive(Debug)]
pub struct Form {
    pub method: Option<String>,
    pub action: String,
    /// Its named `<input>`s with their values ("" when a tag has none), in page order: hidden
    /// fields and prefilled ones alike.
    pub fields: Vec<(String, String)>,
    /// Its named `<button>`s as (name, value), in page order.
    pub buttons: Vec<(String, String)>,
}

/// Every `<form>` of a page, in page order.
pub fn forms(html: &str) -> Vec<Form> {
    let mut out = Vec::new();
    for part in html.split("<form").skip(1) {
        let body = part.split("</form>").next().unwrap();
        let open = body.split('>').next().unwrap();
        let mut fields = Vec::new();
        let mut buttons = Vec::new();
        for tag in body.split('<').skip(1) {
            let tag = tag.split('>').next().unwrap();
            let Some(name) = attribute(tag, "name") else {
                continue;
            };
            let value = attribute(tag, "value").unwrap_or_default();
            if tag.starts_with("input") {
                fields.push((name, value));
            } else if tag.starts_with("button") {
                buttons.push((name, value));
            }
        }
        out.push(Form {
            method: attribute(open, "method"),
            action: attribute(open, "action").expect("a form action"),
            fields,
            buttons,
        });
    }
    out
}

/// A consent page's form as a browser sees it: its action, the fields it submits, and the
/// values of its `decision` buttons.
pub struct ConsentForm {
    pub action: String,
    pub fields: Vec<(String, String)>,
    pub buttons: Vec<String>,
}

/// The consent page's form: the first form of the page, which must be posted.
pub fn parse_form(html: &str) -> ConsentForm {
    let form = forms(html)
        .into_iter()
        .next()
        .expect("a form on the consent page");
    assert_eq!(
        form.method.as_deref(),
        Some("post"),
        "the form of {}",
        form.action
    );
    ConsentForm {
        action: form.action,
        fields: form.fields,
        buttons: form
            .buttons
            .into_iter()
            .filter(|(name, _)| name == "decision")
            .map(|(_, value)| value)
            .collect(),
    }
}
