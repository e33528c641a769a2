//! A small Rust source scanner: the AWS SDK calls a crate makes and the tables, indexes and
//! secrets they target, followed through configuration fields and constructors.

use super::*;

/// One Rust source file: its path (from the repository root) and its code (no comments, no
/// `#[cfg(test)]` items).
pub(super) struct Source {
    pub(super) path: String,
    pub(super) code: String,
}

/// Unit-test modules kept in their own file (`#[cfg(test)] mod tests;` → `tests.rs`, or
/// `#[path = "x_tests.rs"]`): like `#[cfg(test)]` items, not part of what a function runs.
fn is_test_file(path: &std::path::Path) -> bool {
    path.file_stem().and_then(|s| s.to_str()).is_some_and(|s| s == "tests" || s.ends_with("_tests"))
}

pub(super) fn sources_under(dir: &str) -> Vec<Source> {
    pub(super) fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") && !is_test_file(&path) {
                out.push(path);
            }
        }
    }
    let root = repo_root();
    let mut files = Vec::new();
    walk(&root.join(dir), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| Source {
            path: p.strip_prefix(&root).unwrap().to_string_lossy().into_owned(),
            code: without_tests(&without_comments(&std::fs::read_to_string(&p).unwrap())),
        })
        .collect()
}

/// Removes `//` comments (doc comments included), minding string and char literals.
pub(super) fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let bytes = line.as_bytes();
        let (mut i, mut in_str, mut cut) = (0, false, line.len());
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if in_str => i += 1,
                b'"' => in_str = !in_str,
                b'\'' if !in_str && bytes.get(i + 2) == Some(&b'\'') => i += 2,
                b'\'' if !in_str && bytes.get(i + 1) == Some(&b'\\') => {
                    i += bytes[i + 2..].iter().position(|&b| b == b'\'').map_or(0, |p| p + 2)
                }
                b'/' if !in_str && bytes.get(i + 1) == Some(&b'/') => {
                    cut = i;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        out.push_str(&line[..cut]);
        out.push('\n');
    }
    out
}

/// Removes every `#[cfg(test)]` item (a `mod tests { ... }`, a function, a `use`).
pub(super) fn without_tests(code: &str) -> String {
    let mut code = code.to_owned();
    while let Some(at) = code.find("#[cfg(test)]") {
        let open = code[at..].find('{').map(|i| at + i);
        let semi = code[at..].find(';').map(|i| at + i);
        let end = match (open, semi) {
            (Some(o), Some(s)) if s < o => s,
            (Some(o), _) => closing(&code, o).unwrap_or(code.len() - 1),
            (None, Some(s)) => s,
            (None, None) => code.len() - 1,
        };
        code.replace_range(at..=end, "");
    }
    code
}

/// The index of the bracket closing the one at `open` (`(`, `[` or `{`), minding strings.
pub(super) fn closing(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut in_str = false;
    let bytes = code.as_bytes();
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'(' | b'[' | b'{' if !in_str => depth += 1,
            b')' | b']' | b'}' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The method chain starting at `at`: up to the end of its statement or expression.
pub(super) fn chain_at(code: &str, at: usize) -> &str {
    let bytes = code.as_bytes();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut i = at;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'(' | b'[' if !in_str => depth += 1,
            b')' | b']' if !in_str => {
                depth -= 1;
                if depth < 0 {
                    break;
                }
            }
            b';' | b'{' | b'}' | b',' if !in_str && depth == 0 => break,
            _ => {}
        }
        i += 1;
    }
    &code[at..i]
}

/// The arguments of the call whose `(` ends `call` at `at` (e.g. `.table_name(`), split at
/// top-level commas.
pub(super) fn args_at(code: &str, paren: usize) -> Vec<String> {
    let Some(end) = closing(code, paren) else { return vec![] };
    let inner = &code[paren + 1..end];
    let (mut args, mut depth, mut start, mut in_str) = (Vec::new(), 0i32, 0, false);
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'(' | b'[' | b'{' | b'<' if !in_str => depth += 1,
            b')' | b']' | b'}' | b'>' if !in_str => depth -= 1,
            b',' if !in_str && depth == 0 => {
                args.push(inner[start..i].trim().to_owned());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if !inner[start..].trim().is_empty() {
        args.push(inner[start..].trim().to_owned());
    }
    args
}

/// The first argument of `.method(` in `chain`.
pub(super) fn arg_in(chain: &str, method: &str) -> Option<String> {
    let at = chain.find(method)?;
    args_at(chain, at + method.len() - 1).into_iter().next()
}

/// Occurrences of `needle` that start a word (not `foo_batch_write(` for `batch_write(`).
pub(super) fn find_word<'a>(code: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    code.match_indices(needle).map(|(i, _)| i).filter(move |&i| {
        needle.starts_with(['.', ':'])
            || i == 0
            || !code.as_bytes()[i - 1].is_ascii_alphanumeric() && code.as_bytes()[i - 1] != b'_'
    })
}

/// `&self.users.clone()` → `self.users`.
pub(super) fn normalized(expr: &str) -> String {
    let mut e = expr.trim().trim_start_matches('&').trim();
    for suffix in [".clone()", ".as_str()", ".to_owned()", ".to_string()", ".into()", ".as_ref()"] {
        while let Some(stripped) = e.strip_suffix(suffix) {
            e = stripped.trim();
        }
    }
    e.to_owned()
}

/// What a function crate's code calls: (IAM action, target) with the target named by the
/// environment variable that configures it (`USERS_TABLE`, `API_KEYS_TABLE/index/user_id-index`,
/// `PUBLIC_KEYS_SECRET_ID`, or `*` for actions without resources).
pub(super) struct CodeScan<'a> {
    pub(super) krate: &'a [Source],
    pub(super) config: &'a [Source],
}

impl CodeScan<'_> {
    /// The environment variable a configuration field is read from.
    pub(super) fn env_of_field(&self, field: &str) -> Option<String> {
        let needle = format!("{field}: env.");
        self.krate.iter().chain(self.config).find_map(|s| {
            let at = find_word(&s.code, &needle).next()?;
            let rest = &s.code[at..];
            let q = rest.find('"')?;
            let end = rest[q + 1..].find('"')?;
            Some(rest[q + 1..q + 1 + end].to_owned())
        })
    }

    /// The type of the `impl` block around `at` in `code`.
    pub(super) fn impl_type(code: &str, at: usize) -> Option<String> {
        let line = code[..at].lines().rev().find(|l| l.trim_start().starts_with("impl"))?.trim_start();
        let header = &line[..line.find('{').unwrap_or(line.len())];
        let ty = header.rsplit(" for ").next()?.trim().trim_start_matches("impl").trim();
        let ty = ty.rsplit("> ").next()?.split('<').next()?.trim();
        Some(ty.rsplit("::").next()?.to_owned())
    }

    /// Resolves the expression naming a table or secret at `at` in `source` to environment
    /// variables (several when a constructor has several callers).
    pub(super) fn resolve(
        &self,
        source: &Source,
        at: usize,
        expr: &str,
        depth: u32,
    ) -> Result<BTreeSet<String>, String> {
        let e = normalized(expr);
        if depth > 4 {
            return Err(format!("{}: `{e}` resolves too deep", source.path));
        }
        if let Some((_, _, env)) = TARGET_OF.iter().find(|(p, x, _)| *p == source.path && *x == e) {
            return Ok(BTreeSet::from([(*env).to_owned()]));
        }
        if let Some(i) = e.find("cfg.").or_else(|| e.find("config.")) {
            let field = e[i..].rsplit('.').next().unwrap();
            return self
                .env_of_field(field)
                .map(|v| BTreeSet::from([v]))
                .ok_or_else(|| format!("{}: no `{field}: env...` in the configuration", source.path));
        }
        let Some(field) = e.strip_prefix("self.") else {
            // A parameter of the surrounding function: what every caller passes there.
            if let Some((name, index)) = Self::parameter_of_fn(&source.code, at, &e) {
                return self.targets_from_callers(&format!(".{name}("), index, depth);
            }
            return Err(format!("{}: cannot tell what `{e}` names; add it to TARGET_OF", source.path));
        };
        // `self.field`: how the constructor of the surrounding type fills it.
        let ty = Self::impl_type(&source.code, at).ok_or_else(|| format!("{}: `{e}` outside an impl", source.path))?;
        let from_config: Vec<&str> = find_word(&source.code, &format!("{field}: "))
            .map(|i| chain_at(&source.code, i + field.len() + 2))
            .filter(|rhs| rhs.contains("cfg.") || rhs.contains("config."))
            .collect();
        match from_config.as_slice() {
            [_, ..] => {
                let mut out = BTreeSet::new();
                for rhs in from_config {
                    out.extend(self.resolve(source, at, rhs, depth + 1)?);
                }
                Ok(out)
            }
            [] if !self.struct_literal_fills(&ty, field).is_empty() => {
                // Filled by a struct literal elsewhere in the crate (`Type { field: cfg.x, .. }`
                // in main.rs, for a type without a constructor).
                let mut out = BTreeSet::new();
                for (s, at, rhs) in self.struct_literal_fills(&ty, field) {
                    out.extend(self.resolve(s, at, &rhs, depth + 1)?);
                }
                Ok(out)
            }
            [] => {
                // Filled from a constructor parameter: follow every caller of `Type::new(`.
                let impl_at = source
                    .code
                    .find(&format!("impl {ty} {{"))
                    .ok_or_else(|| format!("{}: no `impl {ty}`", source.path))?;
                let new_at = source.code[impl_at..]
                    .find("fn new(")
                    .map(|i| impl_at + i + "fn new".len())
                    .ok_or_else(|| format!("{}: no `{ty}::new` fills `{field}`", source.path))?;
                let params = args_at(&source.code, new_at);
                let index = params
                    .iter()
                    .filter(|p| !p.contains("self"))
                    .position(|p| p.split(':').next().unwrap().trim().trim_start_matches("mut ") == field)
                    .ok_or_else(|| format!("{}: `{ty}::new` has no parameter `{field}`", source.path))?;
                self.targets_from_callers(&format!("{ty}::new("), index, depth)
            }
        }
    }

    /// `(function, index)` when `ident` is a parameter (not `self`) of the function around `at`.
    pub(super) fn parameter_of_fn(code: &str, at: usize, ident: &str) -> Option<(String, usize)> {
        if !ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let fn_at = code[..at].rfind("fn ")? + 3;
        let paren = fn_at + code[fn_at..].find('(')?;
        let name = code[fn_at..paren].trim().split('<').next()?.to_owned();
        let params = args_at(code, paren);
        let index = params
            .iter()
            .filter(|p| !p.contains("self"))
            .position(|p| p.split(':').next().unwrap().trim().trim_start_matches("mut ") == ident)?;
        Some((name, index))
    }

    /// The right-hand sides of `field: ...` in the crate's struct literals of `ty` (not its
    /// declaration or impl blocks), with where they are.
    pub(super) fn struct_literal_fills(&self, ty: &str, field: &str) -> Vec<(&Source, usize, String)> {
        let mut out = Vec::new();
        for s in self.krate {
            for at in find_word(&s.code, &format!("{ty} {{")) {
                let before = s.code[..at].trim_end();
                if ["struct", "impl", "for", "enum"].iter().any(|k| before.ends_with(k)) {
                    continue;
                }
                let open = at + ty.len() + 1;
                let Some(end) = closing(&s.code, open) else { continue };
                let Some(f) = find_word(&s.code[open..end], &format!("{field}: ")).next() else { continue };
                let rhs_at = open + f + field.len() + 2;
                out.push((s, rhs_at, chain_at(&s.code, rhs_at).to_owned()));
            }
        }
        out
    }

    /// The targets passed as argument `index` by every call of `call` in the crate.
    pub(super) fn targets_from_callers(
        &self,
        call: &str,
        index: usize,
        depth: u32,
    ) -> Result<BTreeSet<String>, String> {
        let mut out = BTreeSet::new();
        for s in self.krate {
            for at in find_word(&s.code, call) {
                let args = args_at(&s.code, at + call.len() - 1);
                let arg = args.get(index).ok_or_else(|| format!("{}: `{call}` without argument {index}", s.path))?;
                out.extend(self.resolve(s, at, arg, depth + 1)?);
            }
        }
        if out.is_empty() {
            return Err(format!("no caller of `{call}` in the crate"));
        }
        Ok(out)
    }

    /// Every (action, target) of the crate's own code.
    pub(super) fn own_calls(&self) -> Result<BTreeSet<(String, String)>, String> {
        let mut out = BTreeSet::new();
        for s in self.krate {
            for (call, action) in SDK_CALLS {
                for at in find_word(&s.code, &format!(".{call}()")) {
                    let chain = chain_at(&s.code, at);
                    if !SDK_MARKERS.iter().any(|m| chain.contains(m)) {
                        continue; // not an SDK call (e.g. `uri().query()`)
                    }
                    out.extend(self.targets_of_call(s, at, chain, action)?);
                }
            }
        }
        Ok(out)
    }

    pub(super) fn targets_of_call(
        &self,
        s: &Source,
        at: usize,
        chain: &str,
        action: &str,
    ) -> Result<Vec<(String, String)>, String> {
        if WILDCARD_ALLOWED.iter().any(|(a, _)| *a == action) {
            return Ok(vec![(action.to_owned(), "*".to_owned())]);
        }
        if let Some((_, kind)) = IOT_TARGETS.iter().find(|(a, _)| *a == action) {
            return Ok(vec![(action.to_owned(), (*kind).to_owned())]);
        }
        if action == TRANSACT {
            // The items are built before the call, in the same function.
            let fn_start = s.code[..at].rfind("fn ").unwrap_or(0);
            let body = &s.code[fn_start..at + chain.len()];
            let mut out = Vec::new();
            for (builder, item_action) in TRANSACT_ITEMS {
                for b in body.match_indices(builder).map(|(i, _)| i) {
                    let table = arg_in(&body[b..], ".table_name(")
                        .ok_or_else(|| format!("{}: {builder} without a table", s.path))?;
                    for env in self.resolve(s, fn_start + b, &table, 0)? {
                        out.push(((*item_action).to_owned(), env));
                    }
                }
            }
            return Ok(out);
        }
        if SNS_ENDPOINT_ACTIONS.contains(&action) {
            return Ok(PLATFORM_APPS.iter().map(|app| (action.to_owned(), format!("{app}/endpoint/*"))).collect());
        }
        if action == "sns:CreatePlatformEndpoint" {
            // The application is picked by the device's platform at run time: a function may
            // register under each application its configuration reads.
            let read: Vec<_> = PLATFORM_APPS
                .iter()
                .filter(|app| self.krate.iter().any(|s| s.code.contains(&format!("\"{app}\""))))
                .map(|app| (action.to_owned(), (*app).to_owned()))
                .collect();
            if read.is_empty() {
                return Err(format!("{}: CreatePlatformEndpoint, but no *_PLATFORM_APP_ARN is configured", s.path));
            }
            return Ok(read);
        }
        let target = TARGET_ARGS
            .iter()
            .find_map(|m| arg_in(chain, m))
            .ok_or_else(|| format!("{}: cannot find the target of `{action}` in `{chain}`", s.path))?;
        let index = match arg_in(chain, ".index_name(") {
            Some(name) if name.starts_with('"') => format!("/index/{}", name.trim_matches('"')),
            Some(other) => return Err(format!("{}: index name `{other}` is not a literal", s.path)),
            None => String::new(),
        };
        // Object calls name the bucket; their keys are all under `exports/`.
        let objects = if S3_OBJECT_ACTIONS.contains(&action) { "/exports/*" } else { "" };
        Ok(self
            .resolve(s, at, &target, 0)?
            .into_iter()
            .map(|env| (action.to_owned(), format!("{env}{index}{objects}")))
            .collect())
    }

    /// Every (action, target) the crate makes through shared code.
    pub(super) fn shared_calls(&self) -> Result<BTreeSet<(String, String)>, String> {
        let mut out = BTreeSet::new();
        let uses = |marker: &str| self.krate.iter().any(|s| find_word(&s.code, marker).next().is_some());
        for shared in SHARED.iter().filter(|sh| sh.used_if.iter().any(|m| uses(m))) {
            let targets = match shared.target {
                Target::Secrets => self.secret_ids(),
                Target::Fixed(env) => BTreeSet::from([env.to_owned()]),
                Target::Constructor(call, index) => {
                    self.targets_from_callers(call, index, 0).map_err(|e| format!("{}: {e}", shared.what))?
                }
            };
            let suffix = shared.index.map(|i| format!("/index/{i}")).unwrap_or_default();
            for action in shared.calls {
                out.extend(targets.iter().map(|t| ((*action).to_owned(), format!("{t}{suffix}"))));
            }
        }
        Ok(out)
    }

    /// Every `*_SECRET_ID` the function's configuration reads: its own, and those of the
    /// shared configuration types it names (`CommonConfig` for every function that verifies
    /// tokens; the notifier, which verifies none, reads no public keys).
    pub(super) fn secret_ids(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let uses = |ty: &str| self.krate.iter().any(|s| find_word(&s.code, ty).next().is_some());
        for (s, shared) in self.krate.iter().map(|s| (s, false)).chain(self.config.iter().map(|s| (s, true))) {
            for (i, _) in s.code.match_indices("_SECRET_ID\"") {
                if shared && !Self::impl_type(&s.code, i).is_some_and(|ty| uses(&ty)) {
                    continue;
                }
                let start = s.code[..i].rfind('"').unwrap() + 1;
                out.insert(s.code[start..i + "_SECRET_ID".len()].to_owned());
            }
        }
        out
    }
}
