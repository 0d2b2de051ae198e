//! OData query options: `$filter` (parsed into the registry's typed [`Filter`]), `$top`, `$skip`,
//! `$skiptoken`, `$count`, `$select`; collection and entity envelopes with absolute next links.

use crate::error::{ApiError, ApiResult};
use hangar_core::model::{Filter, PageRequest};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{Map, Value};

/// The query options of a list request, plus the raw pairs (to rebuild the next link).
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    pub pairs: Vec<(String, String)>,
    pub filter: Option<String>,
    pub top: Option<usize>,
    pub skip: Option<usize>,
    pub skiptoken: Option<String>,
    pub count: bool,
    pub select: Option<Vec<String>>,
    /// The navigation properties named by `$expand` (their nested options dropped).
    pub expand: Vec<String>,
}

impl QueryOptions {
    /// Parses a raw (still percent-encoded) query string. Names are matched with or without `$`
    /// and case-insensitively; `""` values count as absent.
    pub fn parse(raw: Option<&str>) -> ApiResult<QueryOptions> {
        let pairs: Vec<(String, String)> = match raw {
            Some(q) if !q.is_empty() => serde_urlencoded::from_str(q).map_err(|e| {
                ApiError::bad_request(format!("the query string cannot be read: {e}"))
            })?,
            _ => Vec::new(),
        };
        let mut o = QueryOptions {
            pairs: pairs.clone(),
            ..QueryOptions::default()
        };
        for (k, v) in &pairs {
            let name = k.trim().trim_start_matches('$').to_ascii_lowercase();
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match name.as_str() {
                "filter" => o.filter = Some(v.to_string()),
                "top" => o.top = Some(parse_count("$top", v)?),
                "skip" => o.skip = Some(parse_count("$skip", v)?),
                "skiptoken" => o.skiptoken = Some(v.to_string()),
                "count" => {
                    o.count = match v.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(ApiError::bad_request(format!(
                                "$count must be true or false, not '{v}'"
                            )))
                        }
                    }
                }
                "select" => {
                    o.select = Some(
                        v.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect(),
                    );
                }
                "expand" => o.expand = expand_names(v),
                // $orderby, $search and custom options are accepted and ignored.
                _ => {}
            }
        }
        Ok(o)
    }

    /// The page request for the store: `$top` (default and maximum 1000) plus `$skip` on the
    /// first page.
    pub fn page(&self) -> ApiResult<(PageRequest, usize)> {
        let top = self
            .top
            .unwrap_or(PageRequest::MAX_TOP)
            .clamp(1, PageRequest::MAX_TOP);
        let skip = if self.skiptoken.is_some() {
            0
        } else {
            self.skip.unwrap_or(0)
        };
        if skip >= PageRequest::MAX_TOP {
            return Err(ApiError::bad_request(format!(
                "$skip supports small offsets only (below {}); follow @odata.nextLink to page further",
                PageRequest::MAX_TOP
            )));
        }
        let fetch = (top + skip).min(PageRequest::MAX_TOP);
        Ok((
            PageRequest {
                top: fetch,
                skiptoken: self.skiptoken.clone(),
            },
            skip,
        ))
    }

    /// The absolute next link: every original option except `$skiptoken` and `$skip`, then the new
    /// `$skiptoken`.
    pub fn next_link(&self, collection_url: &str, skiptoken: &str) -> String {
        let mut parts: Vec<String> = self
            .pairs
            .iter()
            .filter(|(k, _)| {
                let n = k.trim().trim_start_matches('$').to_ascii_lowercase();
                n != "skiptoken" && n != "skip"
            })
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        parts.push(format!("$skiptoken={}", enc(skiptoken)));
        format!("{collection_url}?{}", parts.join("&"))
    }
}

/// `a,b($select=x,y),c` → `[a, b, c]`: the top-level names, without nested options.
fn expand_names(v: &str) -> Vec<String> {
    let mut names = Vec::new();
    let (mut depth, mut name) = (0usize, String::new());
    for c in v.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => names.push(std::mem::take(&mut name)),
            _ if depth == 0 => name.push(c),
            _ => {}
        }
    }
    names.push(name);
    names
        .into_iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'=')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'[')
    .add(b']');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, QUERY_VALUE).to_string()
}

fn parse_count(name: &str, v: &str) -> ApiResult<usize> {
    v.parse::<usize>().map_err(|_| {
        ApiError::bad_request(format!("{name} must be a non-negative integer, not '{v}'"))
    })
}

/// Keeps only the `$select`ed properties (plus `@odata.*` annotations and `id`). Unknown names are
/// ignored, never an error.
pub fn apply_select(mut item: Value, select: Option<&[String]>) -> Value {
    let Some(select) = select else { return item };
    if select.iter().any(|s| s == "*") {
        return item;
    }
    if let Value::Object(map) = &mut item {
        map.retain(|k, _| {
            k.starts_with('@') || k == "id" || select.iter().any(|s| s.eq_ignore_ascii_case(k))
        });
    }
    item
}

/// `{"@odata.context", "@odata.count"?, "value", "@odata.nextLink"?}`.
pub fn collection(
    context: String,
    items: Vec<Value>,
    count: Option<u64>,
    next_link: Option<String>,
) -> Value {
    let mut map = Map::new();
    map.insert("@odata.context".into(), Value::String(context));
    if let Some(c) = count {
        map.insert("@odata.count".into(), Value::from(c));
    }
    map.insert("value".into(), Value::Array(items));
    if let Some(n) = next_link {
        map.insert("@odata.nextLink".into(), Value::String(n));
    }
    Value::Object(map)
}

/// [`collection`] for items shown whole (no `$select`), serialized straight from their wire
/// structs: the same JSON, without building a `Value` per item first.
#[derive(serde::Serialize)]
pub struct CollectionOf<T> {
    #[serde(rename = "@odata.context")]
    pub context: String,
    #[serde(rename = "@odata.count", skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// [`entity`] for an item shown whole (no `$select`): the same JSON, without a `Value`.
#[derive(serde::Serialize)]
pub struct EntityOf<T> {
    #[serde(rename = "@odata.context")]
    pub context: String,
    #[serde(flatten)]
    pub item: T,
}

/// True when `$select` keeps every property (absent or `*`): items can be shown whole.
pub fn selects_all(select: Option<&[String]>) -> bool {
    select.is_none_or(|s| s.iter().any(|s| s == "*"))
}

/// Adds `@odata.context` (first) to an entity.
pub fn entity(context: String, item: Value) -> Value {
    let mut map = Map::new();
    map.insert("@odata.context".into(), Value::String(context));
    if let Value::Object(fields) = item {
        map.extend(fields);
    }
    Value::Object(map)
}

// ---------------------------------------------------------------------------------------------
// $filter

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(String),
    Open,
    Close,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("a string literal is not closed (missing ')".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            c if c.is_alphanumeric() || c == '_' || c == '/' || c == '.' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '/' | '.'))
                {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
    }
    Ok(out)
}

struct Parser<'a, F> {
    toks: Vec<Tok>,
    pos: usize,
    resolve: &'a dyn Fn(&str) -> Option<F>,
}

impl<F> Parser<'_, F> {
    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }

    fn expect(&mut self, t: &Tok, what: &str) -> Result<(), String> {
        if self.toks.get(self.pos) == Some(t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {what}"))
        }
    }

    fn or(&mut self) -> Result<Filter<F>, String> {
        let mut left = self.and()?;
        while self.peek_keyword("or") {
            self.pos += 1;
            left = left.or(self.and()?);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter<F>, String> {
        let mut left = self.primary()?;
        while self.peek_keyword("and") {
            self.pos += 1;
            left = left.and(self.primary()?);
        }
        Ok(left)
    }

    fn field(&self, name: &str) -> Result<F, String> {
        (self.resolve)(name).ok_or_else(|| format!("filtering on '{name}' is not supported"))
    }

    fn string(&mut self) -> Result<String, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(s)
            }
            _ => Err("expected a quoted string value ('...')".into()),
        }
    }

    fn primary(&mut self) -> Result<Filter<F>, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Open) => {
                self.pos += 1;
                let inner = self.or()?;
                self.expect(&Tok::Close, "')'")?;
                Ok(inner)
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                if self.toks.get(self.pos) == Some(&Tok::Open) {
                    let func = name.to_ascii_lowercase();
                    if func != "contains" && func != "startswith" {
                        return Err(format!(
                            "the function '{name}' is not supported (use contains or startswith)"
                        ));
                    }
                    self.pos += 1;
                    let prop = match self.toks.get(self.pos).cloned() {
                        Some(Tok::Ident(p)) => p,
                        _ => return Err(format!("{func}() needs a property name first")),
                    };
                    self.pos += 1;
                    let f = self.field(&prop)?;
                    self.expect(&Tok::Comma, "',' after the property")?;
                    let v = self.string()?;
                    self.expect(&Tok::Close, "')'")?;
                    Ok(if func == "contains" {
                        Filter::Contains(f, v)
                    } else {
                        Filter::StartsWith(f, v)
                    })
                } else {
                    let f = self.field(&name)?;
                    let op = match self.toks.get(self.pos) {
                        Some(Tok::Ident(op)) => op.to_ascii_lowercase(),
                        _ => return Err(format!("expected eq or ne after '{name}'")),
                    };
                    self.pos += 1;
                    let v = self.string()?;
                    match op.as_str() {
                        "eq" => Ok(Filter::Eq(f, v)),
                        "ne" => Ok(Filter::Ne(f, v)),
                        other => Err(format!(
                            "the operator '{other}' is not supported (use eq or ne)"
                        )),
                    }
                }
            }
            Some(Tok::Str(_)) => Err("a value must follow a property and an operator".into()),
            Some(_) => Err("unexpected ',' or ')'".into()),
            None => Err("the filter ends too early".into()),
        }
    }
}

/// Parses OData `$filter` text into a typed filter. Supported: `contains(p,'v')`,
/// `startswith(p,'v')`, `p eq 'v'`, `p ne 'v'`, `and`, `or`, parentheses, `''` escapes.
pub fn parse_filter<F>(text: &str, resolve: &dyn Fn(&str) -> Option<F>) -> ApiResult<Filter<F>> {
    let fail = |m: String| {
        ApiError::bad_request(format!(
            "unsupported $filter '{text}': {m}. Supported: contains(prop,'v'), startswith(prop,'v'), prop eq 'v', prop ne 'v', and, or, parentheses"
        ))
    };
    let toks = tokenize(text).map_err(fail)?;
    let mut p = Parser {
        toks,
        pos: 0,
        resolve,
    };
    let f = p.or().map_err(fail)?;
    if p.pos != p.toks.len() {
        return Err(fail(
            "unexpected text after the end of the expression".into(),
        ));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hangar_core::model::DeviceField;

    #[test]
    fn expand_keeps_top_level_names() {
        assert_eq!(
            expand_names("deploymentProfile($select=id,displayName), intendedDeploymentProfile"),
            ["deploymentProfile", "intendedDeploymentProfile"]
        );
        assert_eq!(
            QueryOptions::parse(Some("%24expand=deploymentProfile"))
                .expect("parse")
                .expand,
            ["deploymentProfile"]
        );
        assert!(expand_names(" , ").is_empty());
    }

    fn parse(s: &str) -> ApiResult<Filter<DeviceField>> {
        parse_filter(s, &DeviceField::from_graph_name)
    }

    #[test]
    fn parses_the_supported_forms() {
        assert_eq!(
            parse("contains(serialNumber,'AB')").ok(),
            Some(Filter::Contains(DeviceField::SerialNumber, "AB".into()))
        );
        assert_eq!(
            parse("startswith(groupTag, 'it''s')").ok(),
            Some(Filter::StartsWith(DeviceField::GroupTag, "it's".into()))
        );
        let f = parse("(groupTag eq 'a' or groupTag ne 'b') and Contains(model,'x')").ok();
        assert_eq!(
            f,
            Some(
                Filter::Eq(DeviceField::GroupTag, "a".into())
                    .or(Filter::Ne(DeviceField::GroupTag, "b".into()))
                    .and(Filter::Contains(DeviceField::Model, "x".into()))
            )
        );
        // and binds tighter than or
        assert_eq!(
            parse("model eq 'a' or model eq 'b' and model eq 'c'").ok(),
            Some(
                Filter::Eq(DeviceField::Model, "a".into()).or(Filter::Eq(
                    DeviceField::Model,
                    "b".into()
                )
                .and(Filter::Eq(DeviceField::Model, "c".into())))
            )
        );
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        for bad in [
            "",
            "serialNumber gt 'a'",
            "endswith(serialNumber,'a')",
            "nosuch eq 'a'",
            "serialNumber eq 'a",
            "serialNumber eq 'a')",
            "(serialNumber eq 'a'",
            "serialNumber eq 5",
        ] {
            let e = parse(bad).err().map(|e| e.message).unwrap_or_default();
            assert!(e.contains("unsupported $filter"), "{bad}: {e}");
        }
    }

    #[test]
    fn next_links_keep_options() {
        let o = QueryOptions::parse(Some(
            "%24filter=contains(model%2C'a%20b')&$top=5&$skiptoken=old&$count=true",
        ))
        .expect("parse");
        assert_eq!(o.filter.as_deref(), Some("contains(model,'a b')"));
        let link = o.next_link("http://h/v1.0/x", "tok");
        assert_eq!(
            link,
            "http://h/v1.0/x?$filter=contains(model,'a%20b')&$top=5&$count=true&$skiptoken=tok"
        );
    }
}
