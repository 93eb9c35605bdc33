//! Certificates made for a test: a CA and the certificates it signs,
//! written as PEM files in a temporary directory, valid for as long as the
//! test needs (expired ones and ones not valid yet included).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};

use crate::TempDir;

/// A certificate authority with its files.
pub struct Pki {
    dir: TempDir,
    name: String,
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, as files.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate, PEM.
    pub cert: PathBuf,
    /// Its private key, PEM (PKCS#8).
    pub key: PathBuf,
}

impl Pki {
    /// A new CA named `name`; its certificate is at [`Pki::ca`].
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} test CA"));
        let key = KeyPair::generate().expect("a CA key");
        let ca = CertifiedIssuer::self_signed(params, key).expect("a self-signed CA");
        let dir = TempDir::new("pki");
        std::fs::write(dir.path().join(format!("{name}-ca.pem")), ca.pem()).expect("write the CA");
        Self {
            dir,
            name: name.to_owned(),
            ca,
        }
    }

    /// The CA certificate's file.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join(format!("{}-ca.pem", self.name))
    }

    /// Issues a certificate for `names` (DNS names or IP addresses), good
    /// for servers and clients alike, and writes it as `file.pem` and
    /// `file.key`.
    pub fn issue(&self, file: &str, names: &[&str]) -> Issued {
        self.issue_with(file, names, None, None)
    }

    /// As [`Pki::issue`], with `common_name` as the subject's CN: a client
    /// certificate that names its holder.
    pub fn issue_named(&self, file: &str, names: &[&str], common_name: &str) -> Issued {
        self.issue_with(file, names, None, Some(common_name))
    }

    /// As [`Pki::issue`], valid from `not_before` to `not_after` (to the
    /// second): expired, not valid yet, or close to its expiry.
    pub fn issue_valid(
        &self,
        file: &str,
        names: &[&str],
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> Issued {
        self.issue_with(file, names, Some((not_before, not_after)), None)
    }

    fn issue_with(
        &self,
        file: &str,
        names: &[&str],
        validity: Option<(SystemTime, SystemTime)>,
        common_name: Option<&str>,
    ) -> Issued {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("certificate parameters");
        if let Some(cn) = common_name {
            params.distinguished_name = rcgen::DistinguishedName::new();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn.to_owned());
        }
        if let Some((not_before, not_after)) = validity {
            // rcgen takes `time`'s dates: the epoch plus whole seconds.
            let at = |t: SystemTime| {
                let seconds = t.duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
                rcgen::date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs(seconds)
            };
            params.not_before = at(not_before);
            params.not_after = at(not_after);
        }
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().expect("a key");
        let cert = params
            .signed_by(&key, &self.ca)
            .expect("a signed certificate");
        let issued = Issued {
            cert: self.dir.path().join(format!("{file}.pem")),
            key: self.dir.path().join(format!("{file}.key")),
        };
        std::fs::write(&issued.cert, cert.pem()).expect("write the certificate");
        std::fs::write(&issued.key, key.serialize_pem()).expect("write the key");
        issued
    }
}
