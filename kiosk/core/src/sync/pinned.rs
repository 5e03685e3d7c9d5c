//! Trusting the county server by its certificate pin (`sync_protocol::pin`) instead of the
//! public roots: county servers on the government extranet often carry a private CA's
//! certificate that no public root vouches for.
//!
//! [`PinnedVerifier`] accepts the server's certificate only if its public key's pin starts
//! with the expected digits (the whole pin once enrolled), and still verifies the handshake
//! signature with that key, so only the holder of the pinned private key gets through. It
//! checks neither the name nor the validity dates: the pin is the whole of the trust (a
//! county server is often reached by an IP address its certificate does not name), and a
//! booth's clock may be days off after a power cut, which must not stop it syncing.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use sync_protocol::pin::{CertPin, PinPrefix};

/// The pinned server showed another key: why the handshake was refused.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the server showed certificate {shown}, not the pinned {expected}")]
pub(crate) struct PinMismatch {
    pub(crate) shown: CertPin,
    pub(crate) expected: PinPrefix,
}

/// Accepts only a certificate whose pin matches; remembers the whole pin it accepted.
#[derive(Debug)]
pub(crate) struct PinnedVerifier {
    expected: PinPrefix,
    algorithms: WebPkiSupportedAlgorithms,
    accepted: Mutex<Option<CertPin>>,
}

impl PinnedVerifier {
    /// The whole pin of the last certificate accepted: what an enrollment stores when the
    /// technician typed only its start.
    pub(crate) fn accepted(&self) -> Option<CertPin> {
        *self.accepted.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A TLS client configuration that trusts only a certificate matching `expected`, and its
/// verifier (to ask which pin it accepted).
pub(crate) fn client_config(
    expected: PinPrefix,
) -> Result<(rustls::ClientConfig, Arc<PinnedVerifier>), rustls::Error> {
    // Named, not the process default, like the server's: ring, whatever else is linked.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedVerifier {
        expected,
        algorithms: provider.signature_verification_algorithms,
        accepted: Mutex::new(None),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::clone(&verifier) as Arc<dyn ServerCertVerifier>)
        .with_no_client_auth();
    Ok((config, verifier))
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let shown = CertPin::of_certificate(end_entity)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        if !self.expected.matches(&shown) {
            let mismatch = PinMismatch {
                shown,
                expected: self.expected.clone(),
            };
            return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(mismatch)),
            )));
        }
        *self.accepted.lock().unwrap_or_else(PoisonError::into_inner) = Some(shown);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The pin mismatch somewhere in an error's chain (reqwest wraps it in hyper's and an
/// `io::Error`, whose `source()` skips the error it wraps: hence the look inside).
pub(crate) fn mismatch_in(err: &(dyn std::error::Error + 'static)) -> Option<PinMismatch> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(found) = as_mismatch(err) {
            return Some(found);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && let Some(found) = mismatch_in(inner)
        {
            return Some(found);
        }
        next = err.source();
    }
    None
}

fn as_mismatch(err: &(dyn std::error::Error + 'static)) -> Option<PinMismatch> {
    if let Some(found) = err.downcast_ref::<PinMismatch>() {
        return Some(found.clone());
    }
    match err.downcast_ref::<rustls::Error>() {
        Some(rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(other)))) => {
            other.downcast_ref::<PinMismatch>().cloned()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::path::Path;
    use std::sync::{Arc, Mutex};

    use sync_protocol::enroll::normalize_code;
    use sync_protocol::pin::{CertPin, PinPrefix};
    use sync_protocol::submission::SubmissionKind;

    use crate::identity;
    use crate::store::{NewSubmission, Store};
    use crate::sync::client::Client;
    use crate::sync::clock::ClockOffset;
    use crate::sync::engine::{Engine, EngineConfig, EngineError};
    use crate::sync::enroll::{EnrollError, enroll_pinned};
    use crate::sync::error::SyncError;
    use crate::sync::stub_server::{StubCert, StubServer, StubState};

    /// A county's private CA and a server certificate it issued for 127.0.0.1 (with a key
    /// of its own): no public root vouches for it.
    fn county_certificate() -> StubCert {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "示范县 private CA");
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        StubCert {
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        }
    }

    fn pin_of(cert: &StubCert) -> CertPin {
        CertPin::of_certificate(&cert.cert_der).unwrap()
    }

    /// What the technician types: the first 16 hex digits.
    fn typed(pin: &CertPin) -> PinPrefix {
        pin.hex()[..16].parse().unwrap()
    }

    async fn county(addr: SocketAddr, cert: &StubCert) -> StubServer {
        let state = StubState {
            enroll_codes: vec![normalize_code("ABCD-EFGH")],
            ..StubState::default()
        };
        StubServer::start_tls(addr, Arc::new(Mutex::new(state)), cert).await
    }

    /// Queues a complaint; its receipt number.
    fn submit_one(data_dir: &Path) -> String {
        let mut new = NewSubmission::new(SubmissionKind::Complaint);
        new.text = Some("the road is flooded".into());
        let receipt = Store::open(data_dir).unwrap().submit(new).unwrap();
        receipt.number.to_string()
    }

    /// The engine the booth app and `kiosk sync` build: from the stored identity and key.
    fn booth_engine(data_dir: &Path) -> (Engine, Arc<Mutex<Store>>) {
        let store = Store::open(data_dir).unwrap();
        let identity = store.identity().unwrap().unwrap();
        let client = Client::new(
            &identity.server_url,
            identity.server_pin,
            identity.kiosk_id,
            identity::load(data_dir).unwrap(),
            ClockOffset::default(),
        )
        .unwrap();
        let store = Arc::new(Mutex::new(store));
        let engine = Engine::new(client, Arc::clone(&store), EngineConfig::new(data_dir));
        (engine, store)
    }

    #[tokio::test]
    async fn a_booth_enrolls_with_a_typed_pin_stores_the_whole_pin_and_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let cert = county_certificate();
        let server = county("127.0.0.1:0".parse().unwrap(), &cert).await;
        let identity = enroll_pinned(
            dir.path(),
            &server.url(),
            Some(&typed(&pin_of(&cert))),
            "ABCD-EFGH",
        )
        .await
        .unwrap();
        assert!(identity.server_url.starts_with("https://"));
        assert_eq!(identity.server_pin, Some(pin_of(&cert)), "the whole pin");
        assert_eq!(
            Store::open(dir.path()).unwrap().identity().unwrap(),
            Some(identity)
        );

        submit_one(dir.path());
        let (mut engine, store) = booth_engine(dir.path());
        let summary = engine.run_once().await.unwrap();
        assert_eq!(summary.uploaded, 1);
        assert_eq!(server.state.lock().unwrap().received.len(), 1);
        let stats = store
            .lock()
            .unwrap()
            .queue_stats(chrono::Utc::now())
            .unwrap();
        assert_eq!(stats.depth(), 0);
    }

    #[tokio::test]
    async fn a_server_showing_another_certificate_is_refused_and_the_queue_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let enrolled_cert = county_certificate();
        let server = county("127.0.0.1:0".parse().unwrap(), &enrolled_cert).await;
        let full: PinPrefix = pin_of(&enrolled_cert).into();
        enroll_pinned(dir.path(), &server.url(), Some(&full), "ABCD-EFGH")
            .await
            .unwrap();
        let addr = server.addr;
        let url = server.url();
        let state = Arc::clone(&server.state);
        server.stop().await;

        // Same address, another key: someone in between, or county IT changed the server.
        let other_cert = county_certificate();
        let impostor = StubServer::start_tls(addr, Arc::clone(&state), &other_cert).await;
        let receipt = submit_one(dir.path());
        let (mut engine, store) = booth_engine(dir.path());
        let err = engine.run_once().await.unwrap_err();
        assert!(
            matches!(
                &err,
                EngineError::Sync(SyncError::CertificateMismatch { shown, .. })
                    if *shown == pin_of(&other_cert)
            ),
            "{err:?}"
        );
        assert!(!err.to_string().contains('\n'));
        assert_eq!(
            err.to_string(),
            format!(
                "the county server at {url} showed certificate {} but this booth was enrolled \
                 to trust {}: re-enroll the booth or ask county IT whether the server's \
                 certificate changed",
                pin_of(&other_cert),
                pin_of(&enrolled_cert)
            )
        );
        assert!(impostor.state.lock().unwrap().received.is_empty());
        let store = store.lock().unwrap();
        let stats = store.queue_stats(chrono::Utc::now()).unwrap();
        assert_eq!((stats.depth(), stats.quarantined), (1, 0), "{stats:?}");
        assert_eq!(
            stats.last_error,
            Some(err.to_string()),
            "`kiosk queue status`"
        );
        let item = store.queue_item(&receipt).unwrap();
        assert_eq!(
            item.last_error,
            Some(err.to_string()),
            "`kiosk queue show` and the technician's queue page say why"
        );
    }

    #[tokio::test]
    async fn an_enrollment_whose_typed_pin_does_not_match_sends_nothing_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cert = county_certificate();
        let server = county("127.0.0.1:0".parse().unwrap(), &cert).await;
        let wrong = typed(&pin_of(&county_certificate()));
        let err = enroll_pinned(dir.path(), &server.url(), Some(&wrong), "ABCD-EFGH")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                EnrollError::Server(SyncError::CertificateMismatch {
                    enrolling: true,
                    ..
                })
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains(&format!("not the {wrong} given for it")),
            "{err}"
        );
        let state = server.state.lock().unwrap();
        assert!(state.enrolled_keys.is_empty() && state.requests.is_empty());
        assert_eq!(Store::open(dir.path()).unwrap().identity().unwrap(), None);
    }

    #[tokio::test]
    async fn without_a_pin_a_private_certificate_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let server = county("127.0.0.1:0".parse().unwrap(), &county_certificate()).await;
        let err = enroll_pinned(dir.path(), &server.url(), None, "ABCD-EFGH")
            .await
            .unwrap_err();
        assert!(
            matches!(err, EnrollError::Server(SyncError::Network { .. })),
            "the public roots do not know a county's CA: {err:?}"
        );
        assert!(server.state.lock().unwrap().enrolled_keys.is_empty());
    }

    #[tokio::test]
    async fn a_pin_for_a_plain_http_server_is_refused_before_anything_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let pin = typed(&pin_of(&county_certificate()));
        let err = enroll_pinned(dir.path(), "http://127.0.0.1:9", Some(&pin), "ABCD-EFGH")
            .await
            .unwrap_err();
        assert!(
            matches!(err, EnrollError::Server(SyncError::PinWithoutTls { .. })),
            "{err:?}"
        );
    }
}
