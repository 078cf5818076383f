//! Credentials for private indexes: where they come from (the index URL, environment variables,
//! netrc) and which requests may carry them.
//!
//! The index's credentials are taken out of its URL before anything else sees it, so no page
//! URL, file URL, cache key, log line or report can carry them; they are added to each request
//! as HTTP Basic auth, and only to requests for the index's own origin (scheme, host, port).
//! A file host elsewhere (a CDN) gets credentials only from a netrc `machine` entry naming it.

use std::fmt;
use std::path::{Path, PathBuf};

use reqwest::Url;
use serde::Deserialize;

/// A user name and password for HTTP Basic auth. `Debug` never shows either.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Credentials(****)")
    }
}

/// Where the index's credentials were found, for the debug log (never the values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Url,
    Np2auditEnv,
    /// `UV_INDEX_<NAME>_USERNAME` / `_PASSWORD` for the `[[tool.uv.index]]` of that name.
    UvIndexEnv(String),
    Netrc,
}

/// Scheme, host and port: the extent of the index's credentials, as browsers scope Basic auth.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    fn of(url: &Url) -> Option<Origin> {
        Some(Origin {
            scheme: url.scheme().to_string(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default(),
        })
    }
}

/// The credentials of one run, and the rule for which request gets which.
#[derive(Debug, Default, Clone)]
pub struct Auth {
    index: Option<(Origin, Credentials, Source)>,
    /// netrc `machine` entries, for hosts other than the index's.
    machines: Vec<(String, Credentials)>,
}

impl Auth {
    /// The credentials to send with a request for `url`: the index's for its origin, else a
    /// netrc `machine` entry naming the host. A URL with its own user info is left to it.
    pub fn for_url(&self, url: &Url) -> Option<&Credentials> {
        if !url.username().is_empty() || url.password().is_some() {
            return None;
        }
        let origin = Origin::of(url)?;
        if let Some((index, credentials, _)) = &self.index
            && *index == origin
        {
            return Some(credentials);
        }
        self.machines
            .iter()
            .find(|(machine, _)| machine.eq_ignore_ascii_case(&origin.host))
            .map(|(_, credentials)| credentials)
    }

    /// Where the index's credentials came from, if it has any.
    pub fn index_source(&self) -> Option<&Source> {
        self.index.as_ref().map(|(_, _, source)| source)
    }
}

/// What credentials are looked up in: the process's in [`discover`], given ones in tests.
pub struct Sources<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The netrc file and its text, if there is one.
    pub netrc: Option<(PathBuf, String)>,
    /// `[[tool.uv.index]]` entries of the project.
    pub uv_indexes: Vec<NamedIndex>,
}

/// An index named in the project's uv configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NamedIndex {
    pub name: String,
    pub url: String,
}

/// [`resolve`] with the process environment, `$NETRC` (else `~/.netrc`) and the
/// `[[tool.uv.index]]` tables of `project_dir`'s `pyproject.toml` (or `[[index]]` of `uv.toml`).
pub fn discover(index_url: &str, project_dir: &Path) -> (String, Auth) {
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let netrc = netrc_path().and_then(|path| {
        let text = std::fs::read_to_string(&path).ok()?;
        Some((path, text))
    });
    let sources = Sources {
        env: &env,
        netrc,
        uv_indexes: uv_indexes(project_dir),
    };
    resolve(index_url, &sources)
}

/// The index URL without credentials, and the credentials of the run. For the index, the first
/// source that has a user name or password wins, and a missing half is filled from the later
/// ones (a netrc password only for the same login):
/// 1. the index URL's user info;
/// 2. `NP2AUDIT_INDEX_USERNAME` / `NP2AUDIT_INDEX_PASSWORD`;
/// 3. `UV_INDEX_<NAME>_USERNAME` / `_PASSWORD` for a `[[tool.uv.index]]` with this URL;
/// 4. netrc: the `machine` entry for the index's host, else the `default` entry.
///
/// A URL that does not parse is returned as it is, for the index client to reject.
pub fn resolve(index_url: &str, sources: &Sources) -> (String, Auth) {
    let netrc = sources
        .netrc
        .as_ref()
        .map(|(path, text)| Netrc::parse(path, text))
        .unwrap_or_default();
    let Ok(mut url) = Url::parse(index_url) else {
        return (index_url.to_string(), Auth::default());
    };
    let mut found = Partial::default();
    if !url.username().is_empty() || url.password().is_some() {
        found.add(
            Some(percent_decode(url.username())).filter(|name| !name.is_empty()),
            url.password().map(percent_decode),
            Source::Url,
        );
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    let env = sources.env;
    found.add(
        env("NP2AUDIT_INDEX_USERNAME"),
        env("NP2AUDIT_INDEX_PASSWORD"),
        Source::Np2auditEnv,
    );
    for index in &sources.uv_indexes {
        if Url::parse(&index.url).is_ok_and(|named| same_index(&named, &url)) {
            let variable = uv_env_name(&index.name);
            found.add(
                env(&format!("UV_INDEX_{variable}_USERNAME")),
                env(&format!("UV_INDEX_{variable}_PASSWORD")),
                Source::UvIndexEnv(index.name.clone()),
            );
        }
    }
    if found.password.is_none()
        && let Some(entry) = url.host_str().and_then(|host| netrc.for_index(host))
        && found
            .username
            .as_ref()
            .is_none_or(|name| *name == entry.username)
    {
        found.add(
            Some(entry.username.clone()),
            entry.password.clone(),
            Source::Netrc,
        );
    }
    // A source is noted only when it gave a user name or a password.
    let index = match (found.source, Origin::of(&url)) {
        (Some(source), Some(origin)) => {
            let credentials = Credentials {
                username: found.username.unwrap_or_default(),
                password: found.password,
            };
            Some((origin, credentials, source))
        }
        _ => None,
    };
    (
        url.to_string(),
        Auth {
            index,
            machines: netrc.machines,
        },
    )
}

/// A user name and password put together from several sources.
#[derive(Default)]
struct Partial {
    username: Option<String>,
    password: Option<String>,
    /// The first source that gave anything.
    source: Option<Source>,
}

impl Partial {
    /// Fill what is still missing. A password only joins a user name it was given with (or none).
    fn add(&mut self, username: Option<String>, password: Option<String>, source: Source) {
        if username.is_none() && password.is_none() {
            return;
        }
        self.source.get_or_insert(source);
        let same_user = match (&self.username, &username) {
            (Some(have), Some(given)) => have == given,
            _ => true,
        };
        if self.username.is_none() {
            self.username = username;
        }
        if self.password.is_none() && same_user {
            self.password = password;
        }
    }
}

/// What a refusal of access usually means here, for error messages.
pub fn status_hint(status: u16) -> &'static str {
    match status {
        401 => " (credentials missing or refused: see \"Private indexes\" in docs/network.md)",
        403 => " (forbidden: the credentials lack access, or the index wants some)",
        _ => "",
    }
}

/// uv's spelling of an index name in environment variable names: upper case, and every
/// character other than an ASCII letter or digit becomes `_`.
pub fn uv_env_name(name: &str) -> String {
    name.chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() {
                character.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Two spellings of one index URL: credentials, case of scheme and host, default port and a
/// trailing slash make no difference.
fn same_index(left: &Url, right: &Url) -> bool {
    let bare = |url: &Url| {
        let mut bare = url.clone();
        let _ = bare.set_username("");
        let _ = bare.set_password(None);
        bare.set_fragment(None);
        bare.to_string().trim_end_matches('/').to_string()
    };
    bare(left) == bare(right)
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// `$NETRC`, else `~/.netrc`.
fn netrc_path() -> Option<PathBuf> {
    match std::env::var_os("NETRC") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => dirs::home_dir().map(|home| home.join(".netrc")),
    }
}

#[derive(Deserialize)]
struct PyprojectWire {
    tool: Option<ToolWire>,
}

#[derive(Deserialize)]
struct ToolWire {
    uv: Option<UvWire>,
}

#[derive(Deserialize)]
struct UvWire {
    #[serde(default)]
    index: Vec<NamedIndex>,
}

/// The project's named uv indexes: `[[index]]` in `uv.toml`, else `[[tool.uv.index]]` in
/// `pyproject.toml` (uv reads the first it finds). Unreadable files name none: the project's
/// own configuration is read, and its errors reported, elsewhere.
pub fn uv_indexes(project_dir: &Path) -> Vec<NamedIndex> {
    let read = |name: &str| std::fs::read_to_string(project_dir.join(name)).ok();
    if let Some(text) = read("uv.toml") {
        return toml::from_str::<UvWire>(&text)
            .map(|uv| uv.index)
            .unwrap_or_default();
    }
    read("pyproject.toml")
        .and_then(|text| toml::from_str::<PyprojectWire>(&text).ok())
        .and_then(|pyproject| pyproject.tool?.uv)
        .map(|uv| uv.index)
        .unwrap_or_default()
}

/// The entries of a netrc file that np2audit uses.
#[derive(Debug, Default)]
struct Netrc {
    machines: Vec<(String, Credentials)>,
    default: Option<Credentials>,
}

impl Netrc {
    /// The entry for the index's host: its `machine`, else `default` (which is never used for
    /// other hosts, so a catch-all login cannot leak to a file host).
    fn for_index(&self, host: &str) -> Option<&Credentials> {
        self.machines
            .iter()
            .find(|(machine, _)| machine.eq_ignore_ascii_case(host))
            .map(|(_, credentials)| credentials)
            .or(self.default.as_ref())
    }

    /// Read as Python's `netrc` module (so pip) and uv read it, by the crate uv uses: `machine`
    /// or `default` entries with `login`, `password` and `account`, `macdef` bodies up to a
    /// blank line, `#` comments, quoted tokens; a later entry for a machine replaces an earlier
    /// one. A file that does not parse gives no credentials, with a warning naming it and the
    /// line, as pip ignores a netrc it cannot read.
    fn parse(path: &Path, text: &str) -> Netrc {
        let parsed: netrc::Netrc = match text.parse() {
            Ok(parsed) => parsed,
            Err(error) => {
                tracing::warn!(
                    "{}: not a valid netrc file ({error}); its credentials are not used",
                    path.display()
                );
                return Netrc::default();
            }
        };
        let mut netrc = Netrc::default();
        for (host, entry) in parsed.hosts {
            if entry.login.is_empty() && entry.password.is_empty() {
                continue;
            }
            let credentials = Credentials {
                username: entry.login,
                password: Some(entry.password).filter(|password| !password.is_empty()),
            };
            if host == "default" {
                netrc.default = Some(credentials);
            } else {
                netrc.machines.push((host, credentials));
            }
        }
        // The crate keeps hosts in a hash map: one order, whatever the run.
        netrc.machines.sort_by(|a, b| a.0.cmp(&b.0));
        netrc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        }
    }

    fn resolved(
        index_url: &str,
        env: &[(&str, &str)],
        netrc: Option<&str>,
        uv_indexes: &[(&str, &str)],
    ) -> (String, Auth) {
        let env = env_of(env);
        let sources = Sources {
            env: &env,
            netrc: netrc.map(|text| (PathBuf::from("netrc"), text.to_string())),
            uv_indexes: uv_indexes
                .iter()
                .map(|(name, url)| NamedIndex {
                    name: name.to_string(),
                    url: url.to_string(),
                })
                .collect(),
        };
        resolve(index_url, &sources)
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn basic(username: &str, password: &str) -> Credentials {
        Credentials {
            username: username.into(),
            password: Some(password.into()),
        }
    }

    #[test]
    fn url_credentials_leave_the_url_and_go_only_to_the_index_origin() {
        let (bare, auth) = resolved("https://me:p%40ss@Pkgs.Example.com/simple", &[], None, &[]);
        assert_eq!(bare, "https://pkgs.example.com/simple");
        let wanted = basic("me", "p@ss");
        assert_eq!(auth.index_source(), Some(&Source::Url));
        for same in [
            "https://pkgs.example.com/simple/numpy/",
            "https://pkgs.example.com:443/files/a.whl",
        ] {
            assert_eq!(auth.for_url(&url(same)), Some(&wanted), "{same}");
        }
        for other in [
            "https://cdn.example.com/files/a.whl",
            "http://pkgs.example.com/simple/",
            "https://pkgs.example.com:8443/simple/",
            "https://pkgs.example.com.evil.test/simple/",
        ] {
            assert_eq!(auth.for_url(&url(other)), None, "{other}");
        }
    }

    #[test]
    fn a_lone_user_name_is_a_token_and_is_sent_alone() {
        let (bare, auth) = resolved("https://tok3n@pkgs.example.com/simple/", &[], None, &[]);
        assert_eq!(bare, "https://pkgs.example.com/simple/");
        let credentials = auth.for_url(&url(&bare)).unwrap();
        assert_eq!(credentials.username, "tok3n");
        assert_eq!(credentials.password, None);
    }

    #[test]
    fn sources_in_order_of_precedence() {
        let index = "https://pkgs.example.com/simple";
        let netrc = Some("machine pkgs.example.com login n password from-netrc");
        let uv = [("Internal-Proxy.2", "https://pkgs.example.com/simple/")];
        let np2audit = [
            ("NP2AUDIT_INDEX_USERNAME", "e"),
            ("NP2AUDIT_INDEX_PASSWORD", "from-np2audit"),
        ];
        let uv_env = [
            ("UV_INDEX_INTERNAL_PROXY_2_USERNAME", "u"),
            ("UV_INDEX_INTERNAL_PROXY_2_PASSWORD", "from-uv"),
        ];
        let password = |auth: &Auth| auth.for_url(&url(index)).unwrap().password.clone().unwrap();

        let with_url = "https://x:from-url@pkgs.example.com/simple";
        let all: Vec<_> = np2audit.iter().chain(&uv_env).copied().collect();
        assert_eq!(
            password(&resolved(with_url, &all, netrc, &uv).1),
            "from-url"
        );
        let (_, auth) = resolved(index, &all, netrc, &uv);
        assert_eq!(password(&auth), "from-np2audit");
        assert_eq!(auth.index_source(), Some(&Source::Np2auditEnv));
        let (_, auth) = resolved(index, &uv_env, netrc, &uv);
        assert_eq!(password(&auth), "from-uv");
        assert_eq!(
            auth.index_source(),
            Some(&Source::UvIndexEnv("Internal-Proxy.2".into()))
        );
        let (_, auth) = resolved(index, &uv_env, netrc, &[]);
        assert_eq!(
            password(&auth),
            "from-netrc",
            "uv variables need the named index"
        );
        let other = [("Internal-Proxy.2", "https://elsewhere.example.com/simple")];
        let (_, auth) = resolved(index, &uv_env, netrc, &other);
        assert_eq!(password(&auth), "from-netrc", "uv variables need its URL");
        let (_, auth) = resolved(index, &[], netrc, &[]);
        assert_eq!(auth.for_url(&url(index)), Some(&basic("n", "from-netrc")));
        assert_eq!(auth.index_source(), Some(&Source::Netrc));
        assert!(
            resolved(index, &[], None, &[])
                .1
                .for_url(&url(index))
                .is_none()
        );
    }

    #[test]
    fn a_user_name_from_the_url_takes_its_password_from_the_environment_or_a_matching_netrc() {
        let index = "https://me@pkgs.example.com/simple";
        let env = [("NP2AUDIT_INDEX_PASSWORD", "from-env")];
        let (bare, auth) = resolved(index, &env, None, &[]);
        assert_eq!(auth.for_url(&url(&bare)), Some(&basic("me", "from-env")));
        let netrc = "machine pkgs.example.com login me password from-netrc";
        let (bare, auth) = resolved(index, &[], Some(netrc), &[]);
        assert_eq!(auth.for_url(&url(&bare)), Some(&basic("me", "from-netrc")));
        let someone_else = "machine pkgs.example.com login you password theirs";
        let (bare, auth) = resolved(index, &[], Some(someone_else), &[]);
        assert_eq!(auth.for_url(&url(&bare)).unwrap().password, None);
    }

    #[test]
    fn netrc_machines_serve_their_own_hosts_and_default_only_the_index() {
        let netrc = "\
# a comment line
default login anyone password catch-all
machine cdn.example.com
    login cdn-user
    password \"with space\"
macdef init
    cd /pub
    machine evil.example.com login x password y

machine cdn.example.com login second password later
";
        let (_, auth) = resolved("https://pkgs.example.com/simple", &[], Some(netrc), &[]);
        assert_eq!(
            auth.for_url(&url("https://pkgs.example.com/simple/")),
            Some(&basic("anyone", "catch-all"))
        );
        assert_eq!(
            auth.for_url(&url("https://CDN.example.com/a.whl")),
            Some(&basic("second", "later")),
            "a later entry for the machine replaces an earlier one, as in Python's netrc and uv"
        );
        assert_eq!(auth.for_url(&url("https://other.example.com/a.whl")), None);
        assert_eq!(auth.for_url(&url("https://evil.example.com/")), None);
    }

    #[test]
    fn netrc_tokens_may_be_quoted_and_a_bad_file_gives_nothing() {
        let netrc = "machine pkgs.example.com login \"me too\" password \"with space\"\n";
        let (_, auth) = resolved("https://pkgs.example.com/simple", &[], Some(netrc), &[]);
        assert_eq!(
            auth.for_url(&url("https://pkgs.example.com/simple/")),
            Some(&basic("me too", "with space"))
        );
        let broken = "machine pkgs.example.com login me password secret\nnonsense here\n";
        let netrc = Netrc::parse(Path::new("/home/me/.netrc"), broken);
        assert!(netrc.machines.is_empty() && netrc.default.is_none());
    }

    #[test]
    fn uv_index_names_become_environment_names_as_uv_spells_them() {
        assert_eq!(uv_env_name("internal-proxy"), "INTERNAL_PROXY");
        assert_eq!(uv_env_name("My.Index 2"), "MY_INDEX_2");
    }

    #[test]
    fn uv_indexes_come_from_uv_toml_else_pyproject() {
        let dir = tempfile::tempdir().unwrap();
        assert!(uv_indexes(dir.path()).is_empty());
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname = \"x\"\n[[tool.uv.index]]\nname = \"corp\"\nurl = \"https://corp.example/simple\"\n",
        )
        .unwrap();
        let corp = NamedIndex {
            name: "corp".into(),
            url: "https://corp.example/simple".into(),
        };
        assert_eq!(uv_indexes(dir.path()), [corp]);
        std::fs::write(
            dir.path().join("uv.toml"),
            "[[index]]\nname = \"u\"\nurl = \"https://u/\"\n",
        )
        .unwrap();
        assert_eq!(uv_indexes(dir.path())[0].name, "u");
    }

    #[test]
    fn debug_output_hides_credentials() {
        let (_, auth) = resolved("https://me:hunter2@pkgs.example.com/", &[], None, &[]);
        let shown = format!("{auth:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("\"me\""),
            "{shown}"
        );
    }
}
