//! A KMS emulator for one test: moto's server mode (`make test` installs moto, pinned and hashed, into
//! `.tools/moto-venv`) on a free loopback port, killed when dropped. It keeps its keys in memory, so each
//! test's keys are its own.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_kms::config::{BehaviorVersion, Builder, Credentials, Region};

use crate::root;

pub struct Moto {
    child: Child,
    pub endpoint: String,
    log: PathBuf,
}

impl Moto {
    /// Starts `moto_server` on 127.0.0.1 and a free port; returns once it accepts connections.
    pub fn start() -> Moto {
        let binary = root().join(".tools/moto-venv/bin/moto_server");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::env::temp_dir().join(format!("orgmint-moto-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{} ({e}): make test installs moto into .tools/moto-venv", binary.display())
            });
        let mut moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}"), log };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited ({status}): {}", moto.output());
            }
            assert!(Instant::now() < deadline, "moto_server did not listen on {port}: {}", moto.output());
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// A KMS client configuration for the emulator: its endpoint, a region and dummy credentials (moto
    /// checks no signature), no retries (an emulator's error is the answer).
    pub fn config(&self) -> Builder {
        aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
    }

    pub fn client(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::from_conf(self.config().build())
    }

    /// What the server has written so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
