//! The docs cannot drift from the binaries. Every settings table of
//! README.md and docs/ is read and checked against the `--help` of the
//! binary it describes: each flag it names exists there, under the
//! environment variable it names, with the default it gives; and every
//! flag of a service appears in its tables. The lines the docs quote from
//! the binaries (the start-up line, the demo's flags) are what the
//! binaries print, and the probes DEPLOY.md describes are the manifests'.
//! (README's excerpt of the demo's output is checked where the demo runs,
//! in `tests/syncctl.rs`.)

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

use syncgov_tests::binary;

/// What `--help` says of one flag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Flag {
    env: Option<String>,
    default: Option<String>,
    /// The flag's whole entry, for values and ranges it names.
    text: String,
}

/// Every long flag of `name`'s `--help` (`--help` and `--version` aside).
fn help_of(name: &str) -> BTreeMap<String, Flag> {
    let out = Command::new(binary(name))
        .arg("--help")
        .output()
        .expect("run --help");
    assert!(out.status.success(), "{name} --help");
    let help = String::from_utf8(out.stdout).expect("UTF-8 help");
    let mut flags: BTreeMap<String, Flag> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in help.lines() {
        let trimmed = line.trim();
        let starts_flag = line.starts_with("  ") && !line.starts_with("        ");
        if starts_flag && (trimmed.starts_with("--") || trimmed.starts_with('-')) {
            current = trimmed
                .split_whitespace()
                .map(|w| w.trim_end_matches(','))
                .find(|w| w.starts_with("--"))
                .map(str::to_owned);
            if let Some(flag) = &current {
                flags.entry(flag.clone()).or_default();
            }
            continue;
        }
        let Some(flag) = current.as_ref().and_then(|f| flags.get_mut(f)) else {
            continue;
        };
        flag.text.push_str(trimmed);
        flag.text.push('\n');
        if let Some(rest) = trimmed.strip_prefix("[env: ") {
            let name = rest.split(['=', ']']).next().unwrap_or_default();
            flag.env = Some(name.to_owned());
        } else if let Some(rest) = trimmed.strip_prefix("[default: ") {
            flag.default = Some(rest.trim_end_matches(']').to_owned());
        }
    }
    flags.remove("--help");
    flags.remove("--version");
    assert!(
        !flags.is_empty(),
        "no flags read from {name} --help:\n{help}"
    );
    flags
}

/// A file of the repository.
fn read(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One row of a Markdown table: its cells by lower-case column name.
type Row = BTreeMap<String, String>;

/// The first table after the heading `heading` (a whole line, `## ...`)
/// of the Markdown `text`.
fn table_after(text: &str, heading: &str, what: &str) -> Vec<Row> {
    let start = text
        .lines()
        .position(|l| l.trim() == heading)
        .unwrap_or_else(|| panic!("{what}: no heading {heading:?}"));
    let lines: Vec<&str> = text
        .lines()
        .skip(start + 1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(lines.len() > 2, "{what}: no table after {heading:?}");
    let header: Vec<String> = cells(lines[0]).iter().map(|c| c.to_lowercase()).collect();
    lines[2..]
        .iter()
        .map(|line| header.iter().cloned().zip(cells(line)).collect())
        .collect()
}

/// The cells of a table line; `\|` inside a cell is a `|` of its text.
fn cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut chars = line.trim().trim_start_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().unwrap().push('|');
                chars.next();
            }
            '|' => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    if cells.last().is_some_and(|c| c.trim().is_empty()) {
        cells.pop();
    }
    cells.into_iter().map(|c| c.trim().to_owned()).collect()
}

/// The `backticked` parts of a cell, in order.
fn quoted(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The flags a cell names (`--flag`, possibly with a value after it).
fn flags_in(cell: &str) -> Vec<String> {
    quoted(cell)
        .iter()
        .filter_map(|q| q.split_whitespace().next())
        .filter(|f| f.starts_with("--"))
        .map(str::to_owned)
        .collect()
}

/// Whether the environment variable `env` is what `pattern` names
/// (`SYNCGOV_TLS_*` covers a family).
fn env_matches(pattern: &str, env: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => env.starts_with(prefix),
        None => pattern == env,
    }
}

/// A default as written in a table or in `--help`, spaces dropped
/// (`30 s` is `30s`).
fn normal(value: &str) -> String {
    value.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Checks the rows of a settings table against `help`: each flag exists,
/// its environment variable is the one named (or none when the cell is
/// empty), and the default given is `--help`'s (`none...` for none).
/// Returns the flags the table names.
fn check_rows(
    rows: &[Row],
    help: &BTreeMap<String, Flag>,
    flag_column: &str,
    what: &str,
) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for row in rows {
        let flags = flags_in(&row[flag_column]);
        assert!(!flags.is_empty(), "{what}: a row names no flag: {row:?}");
        let envs = row
            .get("environment")
            .map(|c| quoted(c))
            .unwrap_or_default();
        for (i, name) in flags.iter().enumerate() {
            let flag = help
                .get(name)
                .unwrap_or_else(|| panic!("{what} names {name}, which --help does not list"));
            named.insert(name.clone());
            if row.contains_key("environment") {
                let pattern = match envs.len() {
                    0 => None,
                    1 => Some(envs[0].clone()),
                    n if n == flags.len() => Some(envs[i].clone()),
                    _ => panic!("{what}: cannot pair flags and variables in {row:?}"),
                };
                match (&pattern, &flag.env) {
                    (None, None) => {}
                    (Some(p), Some(env)) if env_matches(p, env) => {}
                    _ => panic!(
                        "{what}: {name} is read from {:?} by --help, the docs say {pattern:?}",
                        flag.env
                    ),
                }
            }
            if let Some(cell) = row.get("default") {
                check_default(what, name, cell, flag, flags.len());
            }
            if let Some(cell) = row.get("meaning") {
                // `(`10s`)`: the default, said in passing.
                if let Some(start) = cell.find("(`") {
                    let value = cell[start + 2..].split('`').next().unwrap_or_default();
                    assert_eq!(
                        flag.default.as_deref().map(normal),
                        Some(normal(value)),
                        "{what}: the default of {name}"
                    );
                }
            }
        }
    }
    named
}

/// The default a table gives for `name`: `` `value` ``, `none...`, or for
/// a row of one flag, the value before any explanation (`30 s (...)`).
fn check_default(what: &str, name: &str, cell: &str, flag: &Flag, flags_in_row: usize) {
    let said = if cell.starts_with('`') {
        Some(quoted(cell)[0].clone())
    } else if cell.starts_with("none") {
        None
    } else if flags_in_row == 1 {
        let value = cell
            .split(" (")
            .next()
            .unwrap_or_default()
            .split(':')
            .next()
            .unwrap_or_default();
        Some(value.to_owned())
    } else {
        return;
    };
    assert_eq!(
        flag.default.as_deref().map(normal),
        said.as_deref().map(normal),
        "{what}: the default of {name} (the docs say {cell:?})"
    );
}

/// Checks that every flag of `help` is in `documented`.
fn all_documented(binary: &str, help: &BTreeMap<String, Flag>, documented: &BTreeSet<String>) {
    let missing: Vec<&String> = help.keys().filter(|f| !documented.contains(*f)).collect();
    assert!(
        missing.is_empty(),
        "{binary}'s flags missing from its settings tables: {missing:?}"
    );
}

#[test]
fn the_governors_settings_tables_are_its_help() {
    let help = help_of("quota-governor");
    let readme = table_after(&read("README.md"), "## Settings", "README.md");
    let mut documented = check_rows(&readme, &help, "flag", "README.md, Settings");
    let security = table_after(
        &read("docs/SECURITY.md"),
        "## Turning it on",
        "docs/SECURITY.md",
    );
    documented.extend(check_rows(
        &security,
        &help,
        "setting",
        "docs/SECURITY.md, Turning it on",
    ));
    // BUDGETS.md repeats the budgets file's two settings.
    let budgets = table_after(
        &read("docs/BUDGETS.md"),
        "## The governor's `--budgets-file`",
        "docs/BUDGETS.md",
    );
    assert_eq!(budgets.len(), 2);
    check_rows(
        &budgets,
        &help,
        "flag",
        "docs/BUDGETS.md, The governor's --budgets-file",
    );
    all_documented("quota-governor", &help, &documented);

    // The limits QUOTA_GOVERNOR.md lists name settings of both services.
    let limits = table_after(
        &read("docs/QUOTA_GOVERNOR.md"),
        "## Limits",
        "docs/QUOTA_GOVERNOR.md",
    );
    let with_flags: Vec<Row> = limits
        .into_iter()
        .filter(|row| !flags_in(&row["setting"]).is_empty())
        .collect();
    assert!(!with_flags.is_empty());
    check_rows(
        &with_flags,
        &help,
        "setting",
        "docs/QUOTA_GOVERNOR.md, Limits",
    );
    check_rows(
        &with_flags,
        &help_of("sync-errors"),
        "setting",
        "docs/QUOTA_GOVERNOR.md, Limits (sync-errors)",
    );
}

#[test]
fn the_sync_error_services_settings_tables_are_its_help() {
    let help = help_of("sync-errors");
    let table = table_after(
        &read("docs/SYNC_ERRORS.md"),
        "## Settings",
        "docs/SYNC_ERRORS.md",
    );
    let mut documented = check_rows(&table, &help, "flag", "docs/SYNC_ERRORS.md, Settings");
    let security = table_after(
        &read("docs/SECURITY.md"),
        "## Turning it on",
        "docs/SECURITY.md",
    );
    documented.extend(check_rows(
        &security,
        &help,
        "setting",
        "docs/SECURITY.md, Turning it on",
    ));
    all_documented("sync-errors", &help, &documented);
}

#[test]
fn the_cluster_settings_deploy_md_names_are_each_services() {
    let rows = table_after(
        &read("docs/DEPLOY.md"),
        "## Redis Cluster",
        "docs/DEPLOY.md",
    );
    assert_eq!(rows.len(), 2);
    for row in rows {
        let service = row["service"].clone();
        check_rows(
            &[row],
            &help_of(&service),
            "flag",
            "docs/DEPLOY.md, Redis Cluster",
        );
    }
}

#[test]
fn syncctls_settings_tables_are_its_help() {
    let help = help_of("syncctl");
    let text = read("docs/SYNCCTL.md");
    let services = table_after(&text, "## Where the services are", "docs/SYNCCTL.md");
    let mut documented = check_rows(&services, &help, "flag", "docs/SYNCCTL.md");
    // The second table of the section: TLS and tokens.
    let after_first = text
        .split("When the services check callers or speak TLS")
        .nth(1)
        .expect("docs/SYNCCTL.md: the TLS table");
    let security = table_after(
        &format!("## TLS\n{after_first}"),
        "## TLS",
        "docs/SYNCCTL.md",
    );
    documented.extend(check_rows(&security, &help, "flag", "docs/SYNCCTL.md, TLS"));
    all_documented("syncctl", &help, &documented);
}

/// The first line `name` prints on stdout when started with `args`.
fn start_up_line(name: &str, args: &[&str]) -> String {
    let mut child = Command::new(binary(name))
        .args(args)
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the binary");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("a start-up line");
    let _ = child.kill();
    let _ = child.wait();
    line.trim_end().to_owned()
}

#[test]
fn the_lines_readme_quotes_are_the_binaries() {
    let readme = read("README.md");
    // `# prints: quota-governor listening on ADDR (...)`, ADDR being the
    // default address.
    let quoted = readme
        .lines()
        .find_map(|l| l.split("# prints: ").nth(1))
        .expect("README.md quotes the governor's start-up line");
    let default_listen = help_of("quota-governor")["--listen"]
        .default
        .clone()
        .unwrap();
    assert!(
        quoted.contains(&default_listen),
        "README.md's start-up line is not on the default address {default_listen}: {quoted}"
    );
    let printed = start_up_line("quota-governor", &["--listen", "127.0.0.1:0"]);
    let addr = printed
        .split_whitespace()
        .find(|w| w.parse::<std::net::SocketAddr>().is_ok())
        .expect("an address in the start-up line");
    assert_eq!(quoted.replace(&default_listen, addr), printed);

    // `# listens on ADDR`: sync-errors' default address.
    let listens = readme
        .lines()
        .find_map(|l| l.split("# listens on ").nth(1))
        .expect("README.md says where sync-errors listens");
    assert_eq!(
        help_of("sync-errors")["--listen"].default.as_deref(),
        Some(listens.trim())
    );
}

#[test]
fn the_demos_flags_are_as_the_docs_say() {
    let help = help_of("syncgov-demo");
    // `[--duration 45s] [--workers 3] [--output json]`: the defaults, and
    // a value --output takes.
    let usage = read("docs/SYNCCTL.md")
        .lines()
        .find(|l| l.contains("-p syncgov-demo --"))
        .expect("docs/SYNCCTL.md shows the demo's flags")
        .to_owned();
    let mut seen = 0;
    for part in usage.split('[').skip(1) {
        let part = part.split(']').next().unwrap();
        let (flag, value) = part.split_once(' ').expect("a flag and a value");
        let entry = help
            .get(flag)
            .unwrap_or_else(|| panic!("the demo has no {flag}"));
        match &entry.default {
            Some(default) if flag != "--output" => assert_eq!(default, value, "{flag}"),
            _ => assert!(
                entry.text.contains(&format!("- {value}:")),
                "{flag} {value}"
            ),
        }
        seen += 1;
    }
    assert_eq!(seen, 3, "{usage}");
    assert!(help["--duration"].text.contains("6s to 1h"));
    // README: "for 45 s", `-- --duration 10s`, `-- --output json`.
    let readme = read("README.md");
    assert!(readme.contains("for 45 s") && help["--duration"].default.as_deref() == Some("45s"));
    for flag in ["--duration", "--output"] {
        assert!(readme.contains(&format!("`-- {flag} ")) && help.contains_key(flag));
    }
}

/// The `readinessProbe:` block of each container in a manifest, as text:
/// the lines indented under it.
fn readiness_probes(manifest: &str) -> Vec<String> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let lines: Vec<&str> = manifest.lines().collect();
    let mut probes = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with("readinessProbe:") {
            let block: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || indent(l) > indent(line))
                .copied()
                .collect();
            probes.push(block.join("\n"));
        }
    }
    probes
}

#[test]
fn the_probes_deploy_md_describes_are_the_manifests() {
    let deploy = read("docs/DEPLOY.md");
    // The base: the native gRPC probe of each service's name.
    for (service, name) in [
        ("quota-governor", "syncgov.quota.v1.QuotaGovernor"),
        ("sync-errors", "syncgov.syncerrors.v1.SyncErrors"),
    ] {
        let manifest = read(&format!("deploy/base/{service}/deployment.yaml"));
        let probes = readiness_probes(&manifest);
        assert_eq!(probes.len(), 1, "{service}");
        assert!(
            probes[0].contains("grpc:") && probes[0].contains(&format!("service: {name}")),
            "{service}: {}",
            probes[0]
        );
        assert!(
            deploy.contains(&format!("`{name}`")),
            "DEPLOY.md names {name}"
        );
    }
    // Prod: HTTPS GET /readyz on the admin port, for both.
    let prod = read("deploy/overlays/prod/patches/security.yaml");
    let probes = readiness_probes(&prod);
    assert_eq!(probes.len(), 2, "{prod}");
    for probe in probes {
        for line in ["path: /readyz", "port: metrics", "scheme: HTTPS"] {
            assert!(probe.contains(line), "{line}: {probe}");
        }
    }
    let readiness = deploy
        .split("- **Readiness**")
        .nth(1)
        .and_then(|rest| rest.split("- **").next())
        .expect("DEPLOY.md: the readiness paragraph");
    for said in [
        "prod overlay",
        "`GET /readyz` over HTTPS",
        "`patches/security.yaml`",
    ] {
        assert!(
            readiness.contains(said),
            "DEPLOY.md's readiness says {said:?}: {readiness}"
        );
    }
}

#[test]
fn the_consoles_settings_tables_are_its_help() {
    let help = help_of("syncgov-console");
    let readme = table_after(&read("README.md"), "## The web console", "README.md");
    let documented = check_rows(&readme, &help, "flag", "README.md, The web console");
    all_documented("syncgov-console", &help, &documented);
    let text = read("docs/CONSOLE.md");
    let table = table_after(&text, "## Settings", "docs/CONSOLE.md");
    let documented = check_rows(&table, &help, "flag", "docs/CONSOLE.md, Settings");
    all_documented("syncgov-console", &help, &documented);

    // `# prints: syncgov-console listening on ADDR (http://ADDR/)`.
    let quoted = text
        .lines()
        .find_map(|l| l.split("# prints: ").nth(1))
        .expect("docs/CONSOLE.md quotes the console's start-up line");
    let default_listen = help["--listen"].default.clone().unwrap();
    let printed = start_up_line("syncgov-console", &["--listen", "127.0.0.1:0"]);
    let addr = printed
        .split_whitespace()
        .find_map(|w| w.parse::<std::net::SocketAddr>().ok())
        .expect("an address in the start-up line")
        .to_string();
    assert_eq!(quoted.replace(&default_listen, &addr), printed);
}

#[test]
fn the_consoles_deployed_settings_are_flags_of_its_help() {
    // Every setting of deploy/base/console/config.env and of the prod
    // patch is an environment variable the console reads: a renamed flag
    // would otherwise be ignored in the cluster without a word.
    let help = help_of("syncgov-console");
    let known: Vec<&str> = help.values().filter_map(|f| f.env.as_deref()).collect();
    let config = read("deploy/base/console/config.env");
    let patch = read("deploy/overlays/prod/patches/console-tls.yaml");
    let mut names: Vec<String> = config
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| l.split('=').next().unwrap_or_default().to_owned())
        .collect();
    names.extend(
        patch
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- name: SYNCGOV_CONSOLE_"))
            .map(|rest| format!("SYNCGOV_CONSOLE_{rest}")),
    );
    assert!(names.len() > 8, "{names:?}");
    for name in names.iter().filter(|n| *n != "RUST_LOG") {
        assert!(
            known.contains(&name.as_str()),
            "{name} is not a setting of syncgov-console --help"
        );
    }
}
