//! Wiring: settings into the shared state, the routes, the headers every
//! response carries, and the listener (HTTP, or HTTPS with
//! `--tls-cert`), until shutdown.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::backend::Backend;
use crate::config::Settings;
use crate::forms::MAX_BODY;
use crate::pages::{self, State};
use crate::session::Sealer;

/// The policy every page is served under: nothing but the console's own
/// stylesheet and images, no script at all, no framing, forms posting only
/// back to the console.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A console built and bound, ready to run.
pub struct App {
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<syncgov_kit::reload::Reloading<syncgov_kit::tls::ServerConfigs>>>,
    watch: Option<syncgov_kit::task::BoxFuture>,
}

/// What the settings' files give, read before anything binds so that a
/// missing or bad file stops the console with nothing listening.
struct Prepared {
    state: Arc<State>,
    tls: Option<Arc<syncgov_kit::reload::Reloading<syncgov_kit::tls::ServerConfigs>>>,
    watch: Option<syncgov_kit::task::BoxFuture>,
}

fn prepare(settings: &Settings) -> anyhow::Result<Prepared> {
    let sealer = match &settings.session_secret_file {
        Some(path) => {
            let secret = std::fs::read(path)
                .with_context(|| format!("--session-secret-file {}", path.display()))?;
            Sealer::from_secret(trim(&secret))
                .with_context(|| format!("--session-secret-file {}", path.display()))?
        }
        None => Sealer::random()?,
    };
    let (tls, watch) = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => {
            let files = syncgov_kit::tls::ServerTls {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: None,
            };
            let (configs, watch) = files.reloading(Duration::from_secs(10))?;
            (Some(configs), Some(watch))
        }
        _ => (None, None),
    };
    let state = Arc::new(State {
        backend: Backend::new(settings)?,
        sealer,
        secure: tls.is_some(),
        lifetime: settings.session_lifetime,
        revoked: Default::default(),
    });
    Ok(Prepared { state, tls, watch })
}

fn assemble(prepared: Prepared, listener: TcpListener) -> App {
    App {
        listener,
        router: router(prepared.state),
        tls: prepared.tls,
        watch: prepared.watch,
    }
}

/// Builds the console on an already bound `listener` (tests bind port 0).
pub fn build_with_listener(settings: Settings, listener: TcpListener) -> anyhow::Result<App> {
    Ok(assemble(prepare(&settings)?, listener))
}

/// Reads the settings' files, then binds `settings.listen`.
pub async fn build(settings: Settings) -> anyhow::Result<App> {
    let prepared = prepare(&settings)?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    Ok(assemble(prepared, listener))
}

/// A secret file's bytes without a final line break (editors add one).
fn trim(secret: &[u8]) -> &[u8] {
    let end = secret
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &secret[..end]
}

/// Every route, outermost layer last.
pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/sign-in", get(pages::sign_in_page).post(pages::sign_in))
        .route("/sign-out", post(pages::sign_out))
        .route("/fleet", get(pages::fleet))
        .route("/orgs/{org}", get(pages::org))
        .route("/orgs/{org}/clear", post(pages::clear))
        .route("/orgs/{org}/budget", post(pages::budget))
        .route("/orgs/{org}/health", get(pages::health))
        .route("/orgs/{org}/errors", get(pages::errors))
        .route("/orgs/{org}/errors.csv", get(pages::export))
        .route("/orgs/{org}/records", get(pages::records))
        .route("/orgs/{org}/resync", post(pages::resync))
        .route(
            "/orgs/{org}/notifications",
            get(pages::notifications).post(pages::save_notifications),
        )
        .route("/static/console.css", get(pages::stylesheet))
        .route("/healthz", get(pages::healthz))
        .fallback(pages::not_found)
        // Forms are small; a larger body is refused before it is read.
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // Outermost: every answer, errors included, carries the headers.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// The headers that keep pages from being framed, sniffed, cached or made
/// to run script.
async fn security_headers(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    if state.secure {
        // Served over HTTPS: the browser keeps to HTTPS for a year.
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000",
        );
    }
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages hold an org's data: never kept by a shared cache or the
        // browser's history after sign-out.
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

impl App {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes; open connections then finish.
    pub async fn run(
        self,
        shutdown: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    ) -> anyhow::Result<()> {
        let Some(tls) = self.tls else {
            axum::serve(self.listener, self.router)
                .with_graceful_shutdown(shutdown)
                .await
                .context("the HTTP server")?;
            return Ok(());
        };
        if let Some(watch) = self.watch {
            tokio::spawn(watch);
        }
        serve_tls(self.listener, self.router, tls, shutdown).await;
        Ok(())
    }
}

/// HTTPS: HTTP/1.1 over TLS with the certificate as it is reloaded.
async fn serve_tls(
    listener: TcpListener,
    router: Router,
    tls: Arc<syncgov_kit::reload::Reloading<syncgov_kit::tls::ServerConfigs>>,
    mut shutdown: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
) {
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.get().admin.clone());
        tokio::spawn(async move {
            let handshake = acceptor.accept(stream);
            if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_secs(10), handshake).await {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            }
        });
    }
}

/// The binary: logs, build, the start-up line, serve until SIGTERM.
pub fn run_binary(settings: Settings) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("syncgov-console: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let telemetry = syncgov_kit::telemetry::init(
            syncgov_kit::telemetry::LogFormat::Text,
            "info",
            "syncgov-console",
        );
        let scheme = if settings.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        let app = match build(settings).await {
            Ok(app) => app,
            Err(e) => {
                eprintln!("syncgov-console: {e:#}");
                return ExitCode::from(2);
            }
        };
        let addr = app.local_addr();
        println!("syncgov-console listening on {addr} ({scheme}://{addr}/)");
        let result = app.run(Box::pin(syncgov_kit::shutdown::signal())).await;
        telemetry.shutdown();
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("syncgov-console: {e:#}");
                ExitCode::FAILURE
            }
        }
    })
}
