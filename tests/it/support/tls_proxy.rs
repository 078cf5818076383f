//! HTTPS in front of the fixture index: a TLS-terminating proxy on 127.0.0.1 that forwards the
//! decrypted bytes to a plain HTTP address, with a certificate from a test CA made by the
//! `openssl` command at test time (so no key or certificate is kept in the repository to expire).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate authority and a server certificate it signed for `127.0.0.1` and `localhost`,
/// as PEM files in a temporary folder.
pub struct TestCa {
    folder: tempfile::TempDir,
}

impl TestCa {
    /// Runs `openssl`; panics (naming the command) when it is missing or fails.
    pub fn generate() -> TestCa {
        let folder = tempfile::tempdir().expect("temporary folder for the test CA");
        let path = |name: &str| folder.path().join(name);
        std::fs::write(
            path("server.ext"),
            "subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n\
             keyUsage = digitalSignature\nextendedKeyUsage = serverAuth\n",
        )
        .expect("write server.ext");
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        openssl(
            folder.path(),
            &[
                &["req", "-x509", "-nodes", "-days", "2"],
                &ec[..],
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-subj",
                    "/CN=np2audit test CA",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            ]
            .concat(),
        );
        openssl(
            folder.path(),
            &[
                &["req", "-nodes"],
                &ec[..],
                &[
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=localhost",
                ],
            ]
            .concat(),
        );
        openssl(
            folder.path(),
            &[
                "x509",
                "-req",
                "-days",
                "2",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
        );
        TestCa { folder }
    }

    /// The CA certificate: what a client must trust.
    pub fn ca_pem(&self) -> PathBuf {
        self.folder.path().join("ca.pem")
    }

    fn server_config(&self) -> ServerConfig {
        let certificates = CertificateDer::pem_file_iter(self.folder.path().join("server.pem"))
            .expect("read server.pem")
            .collect::<Result<Vec<_>, _>>()
            .expect("parse server.pem");
        let key = PrivateKeyDer::from_pem_file(self.folder.path().join("server.key"))
            .expect("read server.key");
        ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certificates, key)
            .expect("server certificate and key")
    }
}

fn openssl(folder: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(folder)
        .output()
        .unwrap_or_else(|error| panic!("the TLS tests need the `openssl` command: {error}"));
    assert!(
        output.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A running proxy; dropping it stops it.
pub struct TlsProxy {
    address: SocketAddr,
    /// Connections accepted so far (each a TLS handshake attempt).
    connections: Arc<std::sync::atomic::AtomicUsize>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TlsProxy {
    /// Listens on 127.0.0.1 (any free port) with `ca`'s server certificate and forwards each
    /// connection to `upstream` (e.g. the fixture index's base URL, `http://127.0.0.1:PORT`).
    pub fn start(upstream: &str, ca: &TestCa) -> TlsProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("upstream is http://IP:PORT");
        let acceptor = TlsAcceptor::from(Arc::new(ca.server_config()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind TLS proxy");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let address = listener.local_addr().expect("listener address");
        let (shutdown, shutdown_signal) = oneshot::channel();
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        let thread = std::thread::Builder::new()
            .name("tls-proxy".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("TLS proxy runtime");
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("tokio listener");
                    let accept_loop = async {
                        loop {
                            let Ok((stream, _)) = listener.accept().await else {
                                continue;
                            };
                            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            tokio::spawn(forward(stream, acceptor.clone(), upstream));
                        }
                    };
                    tokio::select! {
                        _ = shutdown_signal => {}
                        _ = accept_loop => {}
                    }
                });
            })
            .expect("spawn TLS proxy thread");
        TlsProxy {
            address,
            connections,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `https://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("https://{}", self.address)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// One connection: the TLS handshake (a client that refuses the certificate ends it here),
/// then bytes both ways until either side closes.
async fn forward(stream: TcpStream, acceptor: TlsAcceptor, upstream: SocketAddr) {
    let Ok(mut tls) = acceptor.accept(stream).await else {
        return;
    };
    let Ok(mut plain) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
