//! Certificates: the one `serve --tls` makes at start-up, the user's PEM files read and checked
//! before the server listens, fingerprints, and a certificate's subject as the logs name it.

use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow, bail};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};

use echoctl_core::fingerprint::Fingerprint;

/// How long a certificate made at start-up is valid: a few days, from an hour before start-up
/// (so a client whose clock is a little behind still takes it).
pub(crate) const GENERATED_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
const GENERATED_BACKDATE: Duration = Duration::from_secs(3600);

/// The names every certificate made at start-up holds, besides the listening host.
pub(crate) const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A certificate and its key.
pub(crate) struct Identity {
    /// The chain, the server's (or client's) own certificate first.
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// A self-signed certificate made now (ECDSA P-256), valid for `names` (DNS names or IP
/// addresses), with its key and its PEM text.
pub(crate) fn generate(names: &[String]) -> anyhow::Result<(Identity, String)> {
    let key = rcgen::KeyPair::generate().context("cannot make a key for the certificate")?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())
        .context("cannot make the certificate for these names")?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "echoctl serve");
    let now = unix_seconds(SystemTime::now());
    let at = |seconds: i64| time::OffsetDateTime::from_unix_timestamp(seconds);
    params.not_before = at(now - GENERATED_BACKDATE.as_secs() as i64)?;
    params.not_after = at(now + GENERATED_LIFETIME.as_secs() as i64)?;
    let cert = params
        .self_signed(&key)
        .context("cannot sign the certificate")?;
    let identity = Identity {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    };
    Ok((identity, cert.pem()))
}

fn unix_seconds(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

/// The certificates in the PEM file at `path`, in order; an error names the file and what is
/// wrong with it.
pub(crate) fn read_certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let text = read(path, "certificate")?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, "certificate", e))?;
    if certs.is_empty() {
        bail!(
            "{} holds no certificate: expected PEM, a -----BEGIN CERTIFICATE----- block",
            path.display()
        );
    }
    Ok(certs)
}

/// The private key in the PEM file at `path`: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
pub(crate) fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let text = read(path, "key")?;
    PrivateKeyDer::from_pem_slice(&text).map_err(|e| match e {
        pem::Error::NoItemsFound => anyhow!(
            "{} holds no private key: expected PEM, a -----BEGIN PRIVATE KEY----- (PKCS#8), \
             -----BEGIN RSA PRIVATE KEY----- (PKCS#1) or -----BEGIN EC PRIVATE KEY----- (SEC1) \
             block",
            path.display()
        ),
        e => pem_error(path, "key", e),
    })
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow!("cannot read the {what} file {}: {e}", path.display()))
}

fn pem_error(path: &Path, what: &str, e: pem::Error) -> anyhow::Error {
    anyhow!("{} is not a PEM {what} file: {e}", path.display())
}

/// Why rustls would not take the key in `key_path` with the certificate chain in `cert_path`,
/// for a server's identity or a client's alike.
pub(crate) fn identity_error(e: rustls::Error, cert_path: &Path, key_path: &Path) -> anyhow::Error {
    match e {
        rustls::Error::InconsistentKeys(_) => anyhow!(
            "the key in {} does not match the certificate in {}: pass the key the certificate \
             was made for",
            key_path.display(),
            cert_path.display()
        ),
        e => anyhow!(
            "cannot use the key in {} with the certificate in {}: {e}",
            key_path.display(),
            cert_path.display()
        ),
    }
}

/// Refuses a certificate that is not valid now (expired, or not yet valid), naming `path`;
/// `instead` is what else the user may do about an expired one, besides renewing it.
pub(crate) fn check_dates(
    chain: &[CertificateDer<'_>],
    path: &Path,
    instead: Option<&str>,
) -> anyhow::Result<()> {
    let Some(own) = chain.first() else {
        return Ok(());
    };
    let cert = webpki::EndEntityCert::try_from(own).map_err(|e| {
        anyhow!(
            "{} holds a certificate that cannot be read: {e}",
            path.display()
        )
    })?;
    // Its dates are checked before anything else, whatever the anchor: the certificate itself
    // serves as one, and any error but the dates' is left to the handshake.
    let anchors = [webpki::anchor_from_trusted_cert(own).map_err(|e| {
        anyhow!(
            "{} holds a certificate that cannot be read: {e}",
            path.display()
        )
    })?];
    let checked = cert.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &chain[1..],
        UnixTime::now(),
        webpki::KeyUsage::server_auth(),
        None,
        None,
    );
    match checked {
        Err(webpki::Error::CertExpired { not_after, .. }) => bail!(
            "the certificate in {} expired on {}: renew it{}",
            path.display(),
            format_time(not_after),
            instead.map_or(String::new(), |instead| format!(" (or {instead})"))
        ),
        Err(webpki::Error::CertNotValidYet { not_before, .. }) => bail!(
            "the certificate in {} is not valid until {} (is this machine's clock right?)",
            path.display(),
            format_time(not_before)
        ),
        _ => Ok(()),
    }
}

/// A time as the messages print it: `2026-12-02T14:03:07Z`.
pub(crate) fn format_time(at: UnixTime) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(at.as_secs());
    humantime::format_rfc3339_seconds(at).to_string()
}

/// The SHA-256 fingerprint of a certificate.
pub(crate) fn fingerprint(cert: &CertificateDer<'_>) -> Fingerprint {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert);
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(digest.as_ref());
    Fingerprint(bytes)
}

/// A certificate's subject as the logs name it, `CN=alice, O=Example`; its fingerprint when it
/// cannot be read.
pub(crate) fn subject(cert: &CertificateDer<'_>) -> String {
    webpki::EndEntityCert::try_from(cert)
        .ok()
        .and_then(|parsed| distinguished_name(parsed.subject()))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| format!("(no subject) {}", fingerprint(cert)))
}

/// A distinguished name's attributes, `CN=alice, O=Example`, from the content of its DER
/// `SEQUENCE` (an RDNSequence, as webpki hands it out).
fn distinguished_name(content: &[u8]) -> Option<String> {
    let mut der = vec![0x30];
    der.extend(der_length(content.len()));
    der.extend_from_slice(content);
    let attributes = yasna::parse_der(&der, |reader| {
        reader.collect_sequence_of(|reader| {
            reader.collect_set_of(|reader| {
                reader.read_sequence(|reader| {
                    let oid = reader.next().read_oid()?;
                    let value = reader.next().read_tagged_der()?;
                    Ok((oid, value))
                })
            })
        })
    })
    .ok()?;
    let named: Vec<String> = attributes
        .into_iter()
        .flatten()
        .map(|(oid, value)| {
            let text = echoctl_core::escape::escape(value.value());
            format!("{}={text}", attribute_name(&oid))
        })
        .collect();
    Some(named.join(", "))
}

/// The length of a DER value of `len` bytes, as its header writes it.
fn der_length(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let bytes: Vec<u8> = len
        .to_be_bytes()
        .into_iter()
        .skip_while(|&b| b == 0)
        .collect();
    let mut header = vec![0x80 | bytes.len() as u8];
    header.extend(bytes);
    header
}

/// The short name of a distinguished name's attribute, or its dotted OID.
fn attribute_name(oid: &yasna::models::ObjectIdentifier) -> String {
    match oid.components().as_slice() {
        [2, 5, 4, 3] => "CN".into(),
        [2, 5, 4, 6] => "C".into(),
        [2, 5, 4, 7] => "L".into(),
        [2, 5, 4, 8] => "ST".into(),
        [2, 5, 4, 10] => "O".into(),
        [2, 5, 4, 11] => "OU".into(),
        [1, 2, 840, 113549, 1, 9, 1] => "emailAddress".into(),
        [0, 9, 2342, 19200300, 100, 1, 25] => "DC".into(),
        [0, 9, 2342, 19200300, 100, 1, 1] => "UID".into(),
        _ => oid.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_names_its_hosts_and_lasts_a_few_days() {
        let names: Vec<String> = LOCAL_NAMES.iter().map(|n| n.to_string()).collect();
        let (identity, pem) = generate(&names).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        assert!(!pem.contains("PRIVATE KEY"), "the key stays out of the PEM");
        let cert = &identity.chain[0];
        assert_eq!(subject(cert), "CN=echoctl serve");
        let parsed = webpki::EndEntityCert::try_from(cert).unwrap();
        for name in LOCAL_NAMES {
            let name = rustls_pki_types::ServerName::try_from(name).unwrap();
            parsed.verify_is_valid_for_subject_name(&name).unwrap();
        }
        check_dates(&identity.chain, Path::new("generated"), None).unwrap();
        assert_eq!(
            CertificateDer::from_pem_slice(pem.as_bytes()).unwrap(),
            *cert
        );
        assert_eq!(fingerprint(cert).to_string().len(), 7 + 95);
    }

    #[test]
    fn der_lengths_take_the_long_form_past_127() {
        assert_eq!(der_length(5), [5]);
        assert_eq!(der_length(127), [127]);
        assert_eq!(der_length(128), [0x81, 128]);
        assert_eq!(der_length(300), [0x82, 1, 44]);
    }
}
