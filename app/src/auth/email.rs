//! Email addresses, parsed once: trimmed, lower-cased, and of a plausible shape. Every stored
//! email, comparison and hash uses the parsed form.

use std::fmt;

/// A lower-cased email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// Parses an address: `local@domain`, at most 254 characters, no spaces or control
    /// characters, a domain of letters, digits, `-` and `.` labels. The error says why.
    pub fn parse(raw: &str) -> Result<Email, String> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("is required".into());
        }
        if email.chars().count() > 254 {
            return Err("must be at most 254 characters".into());
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err("must be an email address (name@domain)".into());
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && local
                .chars()
                .all(|c| c.is_ascii_graphic() && !"\"(),:;<>[\\]".contains(c));
        let domain_ok = !domain.is_empty()
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if local_ok && domain_ok {
            Ok(Email(email))
        } else {
            Err("must be an email address (name@domain)".into())
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        let e = Email::parse("  Ada.Lovelace+ops@Example.COM ").expect("valid");
        assert_eq!(e.as_str(), "ada.lovelace+ops@example.com");
        assert_eq!(
            Email::parse("admin@localhost").expect("valid").as_str(),
            "admin@localhost"
        );
    }

    #[test]
    fn malformed_addresses_say_why() {
        assert_eq!(Email::parse(" ").unwrap_err(), "is required");
        for bad in [
            "no-at-sign",
            "@example.com",
            "a@",
            "a b@example.com",
            "a@exa mple.com",
            "a@-example.com",
            "a@example..com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
