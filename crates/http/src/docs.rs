//! A readable HTML page rendered on the server from the OpenAPI description: no script,
//! no assets, nothing fetched at build or run time.

use std::fmt::Write;

use serde_json::Value;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn schema_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// A short type text for a schema, with links to named schemas.
fn type_text(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let n = schema_name(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(n));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            return alts.iter().map(type_text).collect::<Vec<_>>().join(" | ");
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().map(|v| esc(&v.to_string())).collect::<Vec<_>>().join(" | ");
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
        _ => "any".to_owned(),
    };
    let ty = if ty.starts_with("array") {
        let items = schema.get("items").map(type_text).unwrap_or_else(|| "any".into());
        ty.replacen("array", &format!("array of {items}"), 1)
    } else {
        esc(&ty)
    };
    match schema.get("format").and_then(Value::as_str) {
        Some(f) => format!("{ty} ({})", esc(f)),
        None => ty,
    }
}

fn text(v: &Value, key: &str) -> String {
    esc(v.get(key).and_then(Value::as_str).unwrap_or(""))
}

/// Render the page for `api` (an OpenAPI document as JSON).
pub fn render(api: &Value) -> String {
    let title = api.pointer("/info/title").and_then(Value::as_str).unwrap_or("API");
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} API</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.4}}\
         code,.m{{font-family:ui-monospace,monospace}}.op{{border:1px solid #ccc;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}}\
         .m{{font-weight:bold;text-transform:uppercase;margin-right:.5rem}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}}</style></head><body>\
         <h1>{t} API</h1><p>{d}</p><p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a></p>",
        t = esc(title),
        d = api.pointer("/info/description").and_then(Value::as_str).map(esc).unwrap_or_default(),
    );
    out.push_str("<h2>Operations</h2>");
    if let Some(paths) = api.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            let Some(ops) = item.as_object() else {
                continue;
            };
            for (method, op) in ops {
                render_operation(&mut out, method, path, op);
            }
        }
    }
    out.push_str("<h2>Schemas</h2>");
    if let Some(schemas) = api.pointer("/components/schemas").and_then(Value::as_object) {
        for (name, schema) in schemas {
            render_schema(&mut out, name, schema);
        }
    }
    out.push_str("</body></html>");
    out
}

fn render_operation(out: &mut String, method: &str, path: &str, op: &Value) {
    let _ = write!(
        out,
        "<div class=\"op\"><p><span class=\"m\">{}</span><code>{}</code></p><p>{}</p>",
        esc(method),
        esc(path),
        text(op, "description").replace('\n', "<br>")
    );
    if let Some(sec) = op.get("security").and_then(Value::as_array) {
        let names: Vec<String> =
            sec.iter().filter_map(Value::as_object).flat_map(|o| o.keys().map(|k| esc(k))).collect();
        if !names.is_empty() {
            let _ = write!(out, "<p>Credential: {}</p>", names.join(" or "));
        }
    }
    if let Some(params) = op.get("parameters").and_then(Value::as_array) {
        out.push_str("<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>");
        for p in params {
            let ty = p.get("schema").map(type_text).unwrap_or_default();
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{ty}</td><td>{}</td></tr>",
                text(p, "name"),
                text(p, "in"),
                text(p, "description")
            );
        }
        out.push_str("</table>");
    }
    if let Some(body) = op.pointer("/requestBody/content/application~1json/schema") {
        let _ = write!(out, "<p>Body: {}</p>", type_text(body));
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        out.push_str("<table><tr><th>status</th><th>body</th><th>description</th></tr>");
        for (status, r) in responses {
            let body = r
                .get("content")
                .and_then(Value::as_object)
                .and_then(|c| c.values().next())
                .and_then(|c| c.get("schema"))
                .map(type_text)
                .unwrap_or_default();
            let _ = write!(out, "<tr><td>{}</td><td>{body}</td><td>{}</td></tr>", esc(status), text(r, "description"));
        }
        out.push_str("</table>");
    }
    out.push_str("</div>");
}

fn render_schema(out: &mut String, name: &str, schema: &Value) {
    let _ = write!(out, "<h3 id=\"schema-{0}\">{0}</h3><p>{1}</p>", esc(name), text(schema, "description"));
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match schema.get("properties").and_then(Value::as_object) {
        Some(props) => {
            out.push_str("<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>");
            for (field, p) in props {
                let _ = write!(
                    out,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(field),
                    type_text(p),
                    if required.contains(&field.as_str()) { "yes" } else { "" },
                    text(p, "description")
                );
            }
            out.push_str("</table>");
        }
        None => {
            let _ = write!(out, "<p>{}</p>", type_text(schema));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_operations_schemas_and_escapes() {
        let api = serde_json::json!({
            "info": {"title": "t<x>"},
            "paths": {"/a/{b}": {"get": {"description": "Get <b>", "parameters": [{"name": "b", "in": "path", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}}}},
            "components": {"schemas": {"Thing": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer", "format": "int32"}}}}}
        });
        let html = render(&api);
        assert!(html.contains("<code>/a/{b}</code>"));
        assert!(html.contains("Get &lt;b&gt;"));
        assert!(html.contains("t&lt;x&gt; API"));
        assert!(html.contains("href=\"#schema-Thing\""));
        assert!(html.contains("id=\"schema-Thing\""));
        assert!(html.contains("integer (int32)"));
    }
}
