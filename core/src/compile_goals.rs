//! Compiles the `goals` array into a [`GoalSet`]: triggers, selectors, conditions, values,
//! dedupe modes and funnels. A goal with any problem is skipped (its errors are reported);
//! the others are kept.

use crate::condition::{
    compile_condition, strings, Condition, Conditions, Field, Op, Pattern, FIELDS,
};
use crate::error::{join_index, join_key, nearest, nearest_in, w, ConfigError, ErrorKind};
use crate::goals::{Family, Funnel, Goal, GoalKind, GoalSet, Once, Rule, Source, Trigger, Watch};
use crate::interaction::{LinkKinds, MediaEvent, DOWNLOAD_EXTENSIONS};
use crate::json::Json;
use crate::prelude::*;
use crate::time::Millis;

/// Triggers (`on`) this version understands.
pub const TRIGGERS: &[&str] = &[
    "click", "link", "download", "submit", "media", "scroll", "pageview", "visible", "engaged",
    "custom", "funnel",
];
pub(crate) const GOAL_KEYS: &[&str] = &[
    "id", "label", "kind", "category", "on", "match", "once", "value", "currency", "steps",
    "strict", "windowMs", "details",
];
pub(crate) const KINDS: &[&str] = &["macro", "micro"];
pub(crate) const ONCE: &[&str] = &["every", "page", "session", "visitor"];
const PAGE_FIELDS: &[&str] = &[
    "url",
    "path",
    "hostname",
    "query",
    "hash",
    "title",
    "referrer",
    "pagesInSession",
];
const MEDIA_EVENTS: &[&str] = &["start", "progress", "complete"];

/// The `match` keys a trigger takes besides the page fields and `any`.
pub fn trigger_keys(on: &str) -> &'static [&'static str] {
    match on {
        "click" => &["selector", "text", "id", "classes", "tag", "attr", "href"],
        "link" => &[
            "selector", "type", "text", "id", "classes", "tag", "attr", "href",
        ],
        "download" => &[
            "selector",
            "extensions",
            "addExtensions",
            "text",
            "id",
            "classes",
            "tag",
            "attr",
            "href",
        ],
        "submit" => &["selector", "id", "name", "action", "attr"],
        "media" => &["selector", "event", "src", "percent", "seconds"],
        "scroll" => &["percent", "pixels"],
        "visible" => &["selector", "ratio", "ms"],
        "engaged" => &["seconds"],
        "custom" => &["event", "props"],
        _ => &[],
    }
}

/// Compiles the goals at `goals` into a set, with the site's own `hosts` and extra `messengers`.
pub fn compile_goals(
    items: &[Json],
    hosts: Vec<String>,
    messengers: Vec<String>,
    errors: &mut Vec<ConfigError>,
) -> GoalSet {
    let mut set = GoalSet {
        hosts,
        messengers,
        ..GoalSet::default()
    };
    let mut funnels: Vec<(usize, &Json)> = Vec::new();
    for (i, g) in items.iter().enumerate() {
        let path = join_index("goals", i);
        let before = errors.len();
        let mark = set.mark();
        let funnel_json = compile_goal(&mut set, g, &path, i, errors);
        if errors.len() > before {
            set.rollback(&mark);
        } else if let Some(steps) = funnel_json {
            funnels.push((set.goals.len() - 1, steps));
        }
    }
    // Funnel steps may name goals defined after them: resolve once all goals are in. A funnel
    // whose steps fail is left without steps (it can never convert) and reported.
    for (gi, steps) in funnels {
        let path = join_key(&join_index("goals", set.goals[gi].index), "steps");
        let before = errors.len();
        let mark = set.mark();
        let rules = compile_steps(&mut set, steps, &path, errors);
        if errors.len() > before {
            set.rollback_rules(&mark);
            set.dead.push(gi);
        } else if let (Some(f), Some(rules)) = (set.goals[gi].funnel.as_mut(), rules) {
            f.steps = rules;
        }
    }
    set.finish();
    set
}

/// Compiles one goal into `set`. Returns the funnel's `steps` JSON when it is a funnel.
fn compile_goal<'a>(
    set: &mut GoalSet,
    json: &'a Json,
    path: &str,
    index: usize,
    errors: &mut Vec<ConfigError>,
) -> Option<&'a Json> {
    let Json::Object(fields) = json else {
        errors.push(ConfigError::wrong_type(path, w("an object"), json));
        return None;
    };
    unknown_keys(fields, path, GOAL_KEYS, errors);
    let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v);
    let id = name_value(get("id"), &join_key(path, "id"), true, errors).unwrap_or_default();
    if set.goals.iter().any(|g| g.id == id) {
        errors.push(ConfigError::new(
            &join_key(path, "id"),
            ErrorKind::Invalid(w("duplicate goal id")),
        ));
    }
    let label = string_value(get("label"), &join_key(path, "label"), errors);
    let category = name_value(get("category"), &join_key(path, "category"), false, errors);
    let kind = match choice(get("kind"), &join_key(path, "kind"), KINDS, errors) {
        Some("macro") => GoalKind::Macro,
        _ => GoalKind::Micro,
    };
    let on = choice(get("on"), &join_key(path, "on"), TRIGGERS, errors);
    if get("on").is_none() {
        errors.push(ConfigError::new(&join_key(path, "on"), ErrorKind::Missing));
    }
    let once = once_rule(get("once"), &join_key(path, "once"), on, errors);
    let value = source(
        get("value"),
        &join_key(path, "value"),
        errors,
        |v| match v {
            Json::Number(n) if goalpost_protocol::valid_value(*n) => Ok(*n),
            _ => Err("a number from 0 to 1e12, {\"prop\": name} or {\"attr\": name}"),
        },
    );
    let currency = source(
        get("currency"),
        &join_key(path, "currency"),
        errors,
        |v| match v {
            Json::String(s) if goalpost_protocol::valid_currency(s) => Ok(s.clone()),
            _ => Err("a 3-letter ISO 4217 code like \"EUR\", {\"prop\": name} or {\"attr\": name}"),
        },
    );
    let mut goal = Goal {
        id,
        label,
        kind,
        category,
        once,
        value,
        currency,
        rule: None,
        funnel: None,
        index,
        details: flag(get("details"), &join_key(path, "details"), true, errors),
    };
    let funnel_only = ["steps", "strict", "windowMs"];
    match on {
        Some("funnel") => {
            if get("match").is_some() {
                errors.push(ConfigError::new(
                    &join_key(path, "match"),
                    ErrorKind::Invalid(w("a funnel has steps, not match")),
                ));
            }
            let Some(steps) = get("steps") else {
                errors.push(ConfigError::new(
                    &join_key(path, "steps"),
                    ErrorKind::Missing,
                ));
                return None;
            };
            let (strict, window) = funnel_options(fields, path, errors);
            goal.funnel = Some(Funnel {
                steps: Vec::new(),
                strict,
                window,
            });
            set.goals.push(goal);
            Some(steps)
        }
        Some(on) => {
            for k in funnel_only {
                if get(k).is_some() {
                    errors.push(ConfigError::new(
                        &join_key(path, k),
                        ErrorKind::Invalid(w("only a funnel takes this key")),
                    ));
                }
            }
            let empty = Json::Object(Vec::new());
            let m = get("match").unwrap_or(&empty);
            if let Some(r) = compile_rule(set, on, &goal.id, m, &join_key(path, "match"), errors) {
                goal.rule = Some(r);
                set.rule_goal[r] = Some(set.goals.len());
            }
            set.goals.push(goal);
            None
        }
        None => None,
    }
}

/// A funnel's `strict` and `windowMs`.
fn funnel_options(
    fields: &[(String, Json)],
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> (bool, Option<Millis>) {
    let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v);
    let strict = flag(get("strict"), &join_key(path, "strict"), false, errors);
    let window = match get("windowMs") {
        None => None,
        Some(Json::Number(n))
            if *n >= 1.0 && *n <= 31_536_000_000.0 && crate::json::is_whole(*n) =>
        {
            Some(Millis(*n as u64))
        }
        Some(_) => {
            errors.push(ConfigError::new(
                &join_key(path, "windowMs"),
                ErrorKind::Invalid(w("must be a whole number of milliseconds, at least 1")),
            ));
            None
        }
    };
    (strict, window)
}

/// Compiles a trigger and its `match` into a rule in `set`; returns its index.
fn compile_rule(
    set: &mut GoalSet,
    on: &str,
    id: &str,
    m: &Json,
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<usize> {
    let Json::Object(fields) = m else {
        errors.push(ConfigError::wrong_type(path, w("an object"), m));
        return None;
    };
    let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v);
    let selector = string_value(get("selector"), &join_key(path, "selector"), errors);
    let conditions = match_conditions(set, on, fields, path, errors);
    let trigger = match on {
        "click" => Trigger::Click,
        "link" => Trigger::Link(link_kinds(get("type"), &join_key(path, "type"), errors)),
        "download" => Trigger::Download(download_extensions(fields, path, errors)),
        "submit" => Trigger::Submit,
        "media" => Trigger::Media(
            match choice(get("event"), &join_key(path, "event"), MEDIA_EVENTS, errors) {
                Some("start") => Some(MediaEvent::Start),
                Some("progress") => Some(MediaEvent::Progress),
                Some("complete") => Some(MediaEvent::Complete),
                _ => None,
            },
        ),
        "scroll" => {
            if get("percent").is_none() && get("pixels").is_none() {
                errors.push(ConfigError::new(
                    &join_key(path, "percent"),
                    ErrorKind::Invalid(w("a scroll goal needs percent or pixels")),
                ));
            }
            Trigger::Scroll
        }
        "pageview" => Trigger::PageView,
        "engaged" => {
            if get("seconds").is_none() {
                errors.push(ConfigError::new(
                    &join_key(path, "seconds"),
                    ErrorKind::Missing,
                ));
            }
            Trigger::Engaged
        }
        "custom" => Trigger::Custom(
            string_value(get("event"), &join_key(path, "event"), errors)
                .unwrap_or_else(|| id.to_string()),
        ),
        "visible" => {
            let Some(sel) = selector.clone() else {
                errors.push(ConfigError::new(
                    &join_key(path, "selector"),
                    ErrorKind::Missing,
                ));
                return None;
            };
            let ratio = bounded(
                get("ratio"),
                &join_key(path, "ratio"),
                0.01,
                1.0,
                0.5,
                errors,
            );
            let ms = bounded(
                get("ms"),
                &join_key(path, "ms"),
                0.0,
                3_600_000.0,
                1000.0,
                errors,
            );
            set.watches.push(Watch {
                selector: sel,
                ratio,
                ms: Millis(ms as u64),
            });
            Trigger::Visible(set.watches.len() as u32 - 1)
        }
        _ => return None,
    };
    if on == "click"
        && get("selector").is_none()
        && conditions.all.is_empty()
        && conditions.any.is_empty()
    {
        errors.push(ConfigError::new(
            &join_key(path, "selector"),
            ErrorKind::Invalid(w(
                "a click goal needs a selector or a condition (or it would fire on every click)",
            )),
        ));
    }
    let family = match on {
        "click" | "link" | "download" => Some(Family::Click),
        "submit" => Some(Family::Form),
        "media" => Some(Family::Media),
        _ => None,
    };
    Some(set.push_rule(
        Rule {
            trigger,
            selector: None,
            conditions,
        },
        family.zip(selector.filter(|_| on != "visible")),
    ))
}

/// The conditions of a goal's `match`: every key that is not the trigger's own, and `any`.
fn match_conditions(
    set: &mut GoalSet,
    on: &str,
    fields: &[(String, Json)],
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Conditions {
    let own = trigger_keys(on);
    let mut conditions = Conditions::default();
    let numeric_threshold = matches!(on, "scroll" | "media" | "engaged");
    for (key, v) in fields {
        let p = join_key(path, key);
        let k = key.as_str();
        if k == "any" {
            let Json::Array(groups) = v else {
                errors.push(ConfigError::wrong_type(&p, w("a list of objects"), v));
                continue;
            };
            for (gi, group) in groups.iter().enumerate() {
                let gp = join_index(&p, gi);
                let Json::Object(gf) = group else {
                    errors.push(ConfigError::wrong_type(&gp, w("an object"), group));
                    continue;
                };
                let mut conds = Vec::new();
                for (gk, gv) in gf {
                    field_condition(
                        on,
                        gk,
                        gv,
                        &join_key(&gp, gk),
                        numeric_threshold,
                        &mut set.patterns,
                        &mut conds,
                        errors,
                    );
                }
                conditions.any.push(conds);
            }
        } else if matches!(
            k,
            "selector" | "type" | "extensions" | "addExtensions" | "event" | "ratio" | "ms"
        ) && own.contains(&k)
        {
            // trigger keys, read below
        } else if own.contains(&k) || PAGE_FIELDS.contains(&k) || FIELDS.contains(&k) {
            field_condition(
                on,
                k,
                v,
                &p,
                numeric_threshold,
                &mut set.patterns,
                &mut conditions.all,
                errors,
            );
        } else {
            let mut names: Vec<&'static str> = own.to_vec();
            names.extend_from_slice(PAGE_FIELDS);
            names.push("any");
            errors.push(ConfigError::new(
                &p,
                ErrorKind::UnknownKey {
                    suggestion: nearest(k, &names),
                },
            ));
        }
    }
    conditions
}

/// A link goal's `type`: one link kind or a list (all kinds when absent).
fn link_kinds(v: Option<&Json>, path: &str, errors: &mut Vec<ConfigError>) -> LinkKinds {
    let mut kinds = LinkKinds::default();
    match v {
        None => kinds = LinkKinds(31),
        Some(t) => {
            let list = match t {
                Json::String(s) => vec![s.clone()],
                Json::Array(items) => strings(items, path, errors).unwrap_or_default(),
                o => {
                    errors.push(ConfigError::wrong_type(
                        path,
                        w("a link type or a list of them"),
                        o,
                    ));
                    Vec::new()
                }
            };
            for name in list {
                match LinkKinds::NAMES.iter().position(|n| *n == name) {
                    Some(bit) => kinds = kinds.with(LinkKinds(1 << bit)),
                    None => errors.push(ConfigError::new(
                        path,
                        ErrorKind::UnknownName {
                            suggestion: nearest(&name, LinkKinds::NAMES),
                            found: name,
                        },
                    )),
                }
            }
        }
    }
    kinds
}

/// A download goal's file extensions: `extensions` (or the defaults) and `addExtensions`,
/// without dots, lowercase.
fn download_extensions(
    fields: &[(String, Json)],
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Vec<String> {
    let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v);
    let list = |k: &str, errors: &mut Vec<ConfigError>| match get(k) {
        None => None,
        Some(Json::Array(items)) => strings(items, &join_key(path, k), errors),
        Some(o) => {
            errors.push(ConfigError::wrong_type(
                &join_key(path, k),
                w("a list of extensions"),
                o,
            ));
            None
        }
    };
    let mut exts: Vec<String> = match list("extensions", errors) {
        Some(l) => l,
        None => crate::owned(DOWNLOAD_EXTENSIONS),
    };
    exts.extend(list("addExtensions", errors).unwrap_or_default());
    for e in exts.iter_mut() {
        *e = e.trim_start_matches('.').to_ascii_lowercase();
    }
    exts
}

/// One field condition, checking that the trigger offers the field.
#[allow(clippy::too_many_arguments)]
fn field_condition(
    on: &str,
    key: &str,
    v: &Json,
    path: &str,
    numeric_threshold: bool,
    patterns: &mut Vec<Pattern>,
    out: &mut Vec<Condition>,
    errors: &mut Vec<ConfigError>,
) {
    let own = trigger_keys(on);
    if !own.contains(&key) && !PAGE_FIELDS.contains(&key) {
        let msg = if FIELDS.contains(&key) {
            "is not available for this trigger"
        } else {
            "unknown field"
        };
        if FIELDS.contains(&key) {
            errors.push(ConfigError::new(path, ErrorKind::Invalid(w(msg))));
        } else {
            let mut names: Vec<&'static str> = own.to_vec();
            names.extend_from_slice(PAGE_FIELDS);
            errors.push(ConfigError::new(
                path,
                ErrorKind::UnknownKey {
                    suggestion: nearest(key, &names),
                },
            ));
        }
        return;
    }
    let named = |f: fn(String) -> Field,
                 out: &mut Vec<Condition>,
                 patterns: &mut Vec<Pattern>,
                 errors: &mut Vec<ConfigError>| match v {
        Json::Object(names) => {
            for (n, nv) in names {
                compile_condition(f(n.clone()), nv, &join_key(path, n), patterns, out, errors);
            }
        }
        o => errors.push(ConfigError::wrong_type(
            path,
            w("an object of names and conditions"),
            o,
        )),
    };
    let field = match key {
        "url" => Field::Url,
        "path" => Field::Path,
        "hostname" => Field::Hostname,
        "hash" => Field::Hash,
        "title" => Field::Title,
        "referrer" => Field::Referrer,
        "pagesInSession" => Field::PagesInSession,
        "text" => Field::Text,
        "id" => Field::Id,
        "classes" => Field::Classes,
        "tag" => Field::Tag,
        "href" => Field::Href,
        "name" => Field::FormName,
        "action" => Field::FormAction,
        "src" => Field::Src,
        "percent" => Field::Percent,
        "seconds" => Field::Seconds,
        "pixels" => Field::Pixels,
        "query" => return named(Field::Query, out, patterns, errors),
        "attr" => return named(Field::Attr, out, patterns, errors),
        "props" => return named(Field::Prop, out, patterns, errors),
        _ => return,
    };
    // For scroll, media and engaged goals a bare number is a threshold: "reached at least".
    if let (true, Json::Number(n), Field::Percent | Field::Seconds | Field::Pixels) =
        (numeric_threshold, v, &field)
    {
        out.push(Condition {
            field,
            op: Op::Gte(*n),
            negate: false,
            case_insensitive: false,
        });
        return;
    }
    compile_condition(field, v, path, patterns, out, errors);
}

fn compile_steps(
    set: &mut GoalSet,
    steps: &Json,
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<Vec<usize>> {
    let Json::Array(items) = steps else {
        errors.push(ConfigError::wrong_type(path, w("a list of steps"), steps));
        return None;
    };
    if items.len() < 2 {
        errors.push(ConfigError::new(
            path,
            ErrorKind::Invalid(w("a funnel needs at least 2 steps")),
        ));
        return None;
    }
    let mut rules = Vec::new();
    for (i, step) in items.iter().enumerate() {
        let p = join_index(path, i);
        match step {
            Json::String(id) => match set.goals.iter().find(|g| &g.id == id) {
                Some(g) => match g.rule {
                    Some(r) => rules.push(r),
                    None => errors.push(ConfigError::new(
                        &p,
                        ErrorKind::Invalid(w("a funnel step cannot be another funnel")),
                    )),
                },
                None => {
                    let suggestion =
                        nearest_in(id, set.goals.iter().map(|g| g.id.as_str())).map(String::from);
                    errors.push(ConfigError::new(
                        &p,
                        ErrorKind::UnknownGoal {
                            found: id.clone(),
                            suggestion,
                        },
                    ));
                }
            },
            Json::Object(fields) => {
                unknown_keys(fields, &p, &["on", "match"], errors);
                let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v);
                let on = choice(get("on"), &join_key(&p, "on"), &TRIGGERS[..10], errors);
                if get("on").is_none() {
                    errors.push(ConfigError::new(&join_key(&p, "on"), ErrorKind::Missing));
                }
                let empty = Json::Object(Vec::new());
                if let Some(on) = on {
                    if let Some(r) = compile_rule(
                        set,
                        on,
                        "",
                        get("match").unwrap_or(&empty),
                        &join_key(&p, "match"),
                        errors,
                    ) {
                        rules.push(r);
                    }
                }
            }
            o => errors.push(ConfigError::wrong_type(
                &p,
                w("a goal id or an inline rule {\"on\", \"match\"}"),
                o,
            )),
        }
    }
    Some(rules)
}

pub(crate) fn unknown_keys(
    fields: &[(String, Json)],
    path: &str,
    known: &'static [&'static str],
    errors: &mut Vec<ConfigError>,
) {
    for (k, _) in fields {
        if !known.contains(&k.as_str()) {
            errors.push(ConfigError::new(
                &join_key(path, k),
                ErrorKind::UnknownKey {
                    suggestion: nearest(k, known),
                },
            ));
        }
    }
}

/// A non-empty string at `path`, or an error saying what was found instead.
pub(crate) fn string_value(
    v: Option<&Json>,
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<String> {
    match v? {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::String(_) => {
            errors.push(ConfigError::new(
                path,
                ErrorKind::Invalid(w("must not be empty")),
            ));
            None
        }
        o => {
            errors.push(ConfigError::wrong_type(path, w("a string"), o));
            None
        }
    }
}

/// A name (1–64 of A-Z a-z 0-9 _ . -).
pub(crate) fn name_value(
    v: Option<&Json>,
    path: &str,
    required: bool,
    errors: &mut Vec<ConfigError>,
) -> Option<String> {
    if v.is_none() && required {
        errors.push(ConfigError::new(path, ErrorKind::Missing));
    }
    let s = string_value(v, path, errors)?;
    if goalpost_protocol::valid_name(&s) {
        Some(s)
    } else {
        errors.push(ConfigError::new(
            path,
            ErrorKind::Invalid(w(crate::error::NAME_RULE)),
        ));
        None
    }
}

/// `once`: a scope name, or `{"per": {"prop": name}}` / `{"per": {"attr": name}}`; the
/// default depends on the trigger.
fn once_rule(
    v: Option<&Json>,
    path: &str,
    on: Option<&str>,
    errors: &mut Vec<ConfigError>,
) -> Once {
    let default = match on {
        Some("custom") => Once::Every,
        Some("funnel" | "pageview") => Once::Session,
        _ => Once::Page,
    };
    let Some(Json::Object(fields)) = v else {
        return match choice(v, path, ONCE, errors) {
            Some("every") => Once::Every,
            Some("page") => Once::Page,
            Some("session") => Once::Session,
            Some("visitor") => Once::Visitor,
            _ => default,
        };
    };
    const PER: &str = "{\"per\": {\"prop\": name}} or {\"per\": {\"attr\": name}}";
    unknown_keys(fields, path, &["per"], errors);
    let per_path = join_key(path, "per");
    let (per_json, per) = match fields.iter().find(|(k, _)| k == "per") {
        Some((_, j @ Json::Object(per))) => (j, per),
        Some((_, other)) => {
            errors.push(ConfigError::wrong_type(&per_path, w(PER), other));
            return default;
        }
        None => {
            errors.push(ConfigError::new(&per_path, ErrorKind::Missing));
            return default;
        }
    };
    // a prop comes with custom events, an attribute with the clicked element or the form
    let field = match (per.as_slice(), on) {
        ([(k, Json::String(name))], Some("custom")) if k == "prop" && !name.is_empty() => {
            Field::Prop(name.clone())
        }
        ([(k, Json::String(name))], Some("click" | "link" | "download" | "submit"))
            if k == "attr" && !name.is_empty() =>
        {
            Field::Attr(name.clone())
        }
        ([(k, Json::String(_))], _) if k == "prop" || k == "attr" => {
            errors.push(ConfigError::new(
                &join_key(&per_path, k),
                ErrorKind::Invalid(
                    w("a key comes from a custom event's prop, or from the attribute of a clicked element or submitted form",)
                ),
            ));
            return default;
        }
        _ => {
            errors.push(ConfigError::wrong_type(&per_path, w(PER), per_json));
            return default;
        }
    };
    Once::PerKey(field)
}

fn choice(
    v: Option<&Json>,
    path: &str,
    names: &[&'static str],
    errors: &mut Vec<ConfigError>,
) -> Option<&'static str> {
    let s = string_value(v, path, errors)?;
    let found = names.iter().find(|n| **n == s).copied();
    if found.is_none() {
        errors.push(ConfigError::new(
            path,
            ErrorKind::UnknownName {
                suggestion: nearest(&s, names),
                found: s,
            },
        ));
    }
    found
}

fn bounded(
    v: Option<&Json>,
    path: &str,
    min: f64,
    max: f64,
    default: f64,
    errors: &mut Vec<ConfigError>,
) -> f64 {
    match v {
        None => default,
        Some(Json::Number(n)) if *n >= min && *n <= max => *n,
        Some(_) => {
            errors.push(ConfigError::new(
                path,
                ErrorKind::Invalid(w("is not a number in the allowed range")),
            ));
            default
        }
    }
}

fn source<T>(
    v: Option<&Json>,
    path: &str,
    errors: &mut Vec<ConfigError>,
    fixed: impl Fn(&Json) -> Result<T, &'static str>,
) -> Source<T> {
    let Some(v) = v else { return Source::None };
    if let Json::Object(f) = v {
        if let [(k, Json::String(name))] = f.as_slice() {
            match k.as_str() {
                "prop" => return Source::Prop(name.clone()),
                "attr" => return Source::Attr(name.clone()),
                _ => {}
            }
        }
    }
    match fixed(v) {
        Ok(x) => Source::Fixed(x),
        Err(expected) => {
            errors.push(ConfigError::wrong_type(path, w(expected), v));
            Source::None
        }
    }
}

/// A goal's `true` / `false` key: `default` when absent or of another type (an error then).
fn flag(v: Option<&Json>, path: &str, default: bool, errors: &mut Vec<ConfigError>) -> bool {
    match v {
        None => default,
        Some(Json::Bool(b)) => *b,
        Some(o) => {
            errors.push(ConfigError::wrong_type(path, w("true or false"), o));
            default
        }
    }
}
