//! A small WebDriver client for the browser tests: `chromedriver` started
//! on a loopback port (killed when dropped), one headless Chromium session
//! per [`Browser`], and the handful of commands the tests need, spoken as
//! the W3C WebDriver JSON protocol over HTTP/1.1. Kept here rather than a
//! client crate so that the tests add no dependency tree of their own.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{PATIENCE, eventually, free_addr};

/// The key W3C WebDriver names element references with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A `chromedriver` process on a loopback port.
pub struct Driver {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts `chromedriver` and waits until it is ready. Debian's
    /// `chromium-driver` package provides it (scripts/test installs it).
    pub async fn start() -> Self {
        let addr = free_addr();
        let child = Command::new("chromedriver")
            .arg(format!("--port={}", addr.port()))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver (apt-get install chromium chromium-driver)");
        let driver = Self { child, addr };
        let ready = eventually(PATIENCE, || async {
            call(addr, "GET", "/status", None)
                .await
                .ok()
                .is_some_and(|v| v["value"]["ready"] == json!(true))
        })
        .await;
        assert!(ready, "chromedriver did not become ready");
        driver
    }

    /// A new headless Chromium session, `width` by `height` pixels.
    pub async fn browser(&self, width: u32, height: u32) -> Browser {
        let mut args = vec![
            "--headless=new".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--no-first-run".to_owned(),
            format!("--window-size={width},{height}"),
        ];
        // Chromium's sandbox needs user namespaces that root in a
        // container does not get.
        if is_root() {
            args.push("--no-sandbox".to_owned());
        }
        let reply = call(
            self.addr,
            "POST",
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"args": args}
            }}})),
        )
        .await
        .expect("a WebDriver session");
        let id = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {reply}"))
            .to_owned();
        Browser {
            driver: self.addr,
            session: id,
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// One browser window driven over WebDriver; its session ends when dropped
/// with [`Browser::quit`].
pub struct Browser {
    driver: SocketAddr,
    session: String,
}

/// An element of the page.
#[derive(Clone, Debug)]
pub struct Element(String);

impl Browser {
    async fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let reply = call(self.driver, method, &path, body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        reply["value"].clone()
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The address of the page shown.
    pub async fn url(&self) -> String {
        self.command("GET", "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page's HTML as the browser holds it.
    pub async fn source(&self) -> String {
        self.command("GET", "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The elements matching a CSS selector.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        let found = self
            .command(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(|id| Element(id.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The one element matching a CSS selector; the test fails without it.
    pub async fn find(&self, css: &str) -> Element {
        let all = self.all(css).await;
        match all.into_iter().next() {
            Some(e) => e,
            None => panic!(
                "no element {css} on {}:\n{}",
                self.url().await,
                self.source().await
            ),
        }
    }

    /// Clicks `element` (and waits for the page it leads to, as WebDriver does).
    pub async fn click(&self, element: &Element) {
        self.command(
            "POST",
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        )
        .await;
    }

    /// Types `text` into `element`.
    pub async fn type_into(&self, element: &Element, text: &str) {
        self.command(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Empties an input.
    pub async fn clear(&self, element: &Element) {
        self.command(
            "POST",
            &format!("/element/{}/clear", element.0),
            Some(json!({})),
        )
        .await;
    }

    /// The text `element` shows.
    pub async fn text(&self, element: &Element) -> String {
        self.command("GET", &format!("/element/{}/text", element.0), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The element that has the keyboard focus.
    pub async fn focused(&self) -> Element {
        let value = self.command("GET", "/element/active", None).await;
        Element(value[ELEMENT].as_str().unwrap_or_default().to_owned())
    }

    /// An attribute of `element`.
    pub async fn attribute(&self, element: &Element, name: &str) -> String {
        self.command(
            "GET",
            &format!("/element/{}/attribute/{name}", element.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Presses keys on the focused element (WebDriver key codes, e.g.
    /// `\u{E004}` for Tab).
    pub async fn press(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [
                    json!({"type": "keyDown", "value": c.to_string()}),
                    json!({"type": "keyUp", "value": c.to_string()}),
                ]
            })
            .collect();
        self.command(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )
        .await;
    }

    /// Resizes the window.
    pub async fn resize(&self, width: u32, height: u32) {
        self.command(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// The page's width as laid out, and the widest content in it: equal
    /// when nothing runs off the side.
    pub async fn widths(&self) -> (u64, u64) {
        let value = self
            .command(
                "POST",
                "/execute/sync",
                Some(json!({"script": "return [document.documentElement.clientWidth, document.body.scrollWidth];", "args": []})),
            )
            .await;
        (
            value[0].as_u64().unwrap_or_default(),
            value[1].as_u64().unwrap_or_default(),
        )
    }

    /// The form controls of the page a person can reach that have no label
    /// (neither a `<label for>`, an enclosing label, `aria-label` nor
    /// `aria-labelledby`), as their outer HTML.
    pub async fn unlabelled_controls(&self) -> Vec<String> {
        let script = "return Array.from(document.querySelectorAll('input, select, textarea, button'))\
            .filter(e => e.type !== 'hidden')\
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')\
                && !e.getAttribute('aria-labelledby') && !(e.tagName === 'BUTTON' && e.textContent.trim()))\
            .map(e => e.outerHTML);";
        let value = self
            .command(
                "POST",
                "/execute/sync",
                Some(json!({"script": script, "args": []})),
            )
            .await;
        value
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A PNG of the window.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let data = self.command("GET", "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("a base64 screenshot")
    }

    /// Ends the session (the browser closes).
    pub async fn quit(self) {
        let _ = call(
            self.driver,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        )
        .await;
    }
}

/// One WebDriver call: JSON in, JSON out; an error status is an `Err`
/// with WebDriver's message.
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    // chromedriver keeps the connection open: read the header block, then
    // exactly Content-Length bytes.
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let (head, body_start) = loop {
        let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the headers".into());
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break (String::from_utf8_lossy(&raw[..i]).into_owned(), i + 4);
        }
    };
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .ok_or("no Content-Length")?;
    while raw.len() < body_start + length {
        let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed inside the body".into());
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&raw[body_start..body_start + length]).into_owned();
    let body = body.as_str();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    let value: Value = serde_json::from_str(body).map_err(|e| format!("{e}: {body}"))?;
    if status >= 400 {
        return Err(format!("{status}: {}", value["value"]["message"]));
    }
    Ok(value)
}
