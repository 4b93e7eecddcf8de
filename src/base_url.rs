//! The one rule for a server's base URL, checked once when the URL enters the program.

use std::fmt;

use url::Url;

/// An http(s) site root with a host and nothing that would surprise or leak: no credentials
/// (they would reach logs and proxies; they belong in their own settings), no query, no
/// fragment. A sub-path is allowed, for servers installed below one.
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl(Url);

/// Why a text is not a [`BaseUrl`]. The wording never repeats the URL, which may hold a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseUrlProblem {
    NotAUrl,
    NotHttp,
    NoHost,
    HasCredentials,
    HasQueryOrFragment,
}

impl fmt::Display for BaseUrlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BaseUrlProblem::NotAUrl => "is not a URL",
            BaseUrlProblem::NotHttp => "must use http or https",
            BaseUrlProblem::NoHost => "must have a host",
            BaseUrlProblem::HasCredentials => {
                "must not contain credentials; configure them separately"
            }
            BaseUrlProblem::HasQueryOrFragment => "must not have a query or fragment",
        })
    }
}

impl BaseUrl {
    pub fn parse(raw: &str) -> Result<BaseUrl, BaseUrlProblem> {
        let url = Url::parse(raw.trim()).map_err(|_| BaseUrlProblem::NotAUrl)?;
        BaseUrl::try_from(url)
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }

    pub fn into_url(self) -> Url {
        self.0
    }
}

impl TryFrom<Url> for BaseUrl {
    type Error = BaseUrlProblem;

    fn try_from(url: Url) -> Result<Self, Self::Error> {
        if !matches!(url.scheme(), "http" | "https") {
            Err(BaseUrlProblem::NotHttp)
        } else if url.cannot_be_a_base() || url.host_str().is_none_or(str::is_empty) {
            Err(BaseUrlProblem::NoHost)
        } else if !url.username().is_empty() || url.password().is_some() {
            Err(BaseUrlProblem::HasCredentials)
        } else if url.query().is_some() || url.fragment().is_some() {
            Err(BaseUrlProblem::HasQueryOrFragment)
        } else {
            Ok(BaseUrl(url))
        }
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_every_base_url() {
        for (raw, expected) in [
            ("https://eu.onetimesecret.com", Ok(())),
            ("http://127.0.0.1:7143/ots/", Ok(())),
            ("eu.onetimesecret.com", Err(BaseUrlProblem::NotAUrl)),
            ("ftp://example.com", Err(BaseUrlProblem::NotHttp)),
            (
                "https://user:pw@example.com",
                Err(BaseUrlProblem::HasCredentials),
            ),
            (
                "https://user@example.com",
                Err(BaseUrlProblem::HasCredentials),
            ),
            (
                "https://example.com/?a=1",
                Err(BaseUrlProblem::HasQueryOrFragment),
            ),
            (
                "https://example.com/#top",
                Err(BaseUrlProblem::HasQueryOrFragment),
            ),
        ] {
            assert_eq!(BaseUrl::parse(raw).map(drop), expected, "{raw}");
        }
    }

    #[test]
    fn problems_never_repeat_the_url() {
        let problem = BaseUrl::parse("https://user:canary@example.com").unwrap_err();
        assert!(!problem.to_string().contains("canary"));
    }
}
