//! The real `segmentation serve` binary as a child process on a given database, for the tests
//! that kill a server mid-job. It runs in dev mode (no auth, loopback only) with JSON logs; the
//! bound gRPC address is read from its `listening` log line. `TEST_LOG=1` echoes its logs.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

/// A running server process.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    pub pid: u32,
}

impl ServerProcess {
    /// Starts `segmentation serve` on `database_url` with extra flags; waits until it listens.
    pub async fn start(database_url: &str, extra: &[&str]) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_segmentation"))
            .args(["serve", "--grpc-addr", "127.0.0.1:0", "--rest-addr", "off"])
            .args(["--database-url", database_url, "--log-format", "json"])
            .args(extra)
            .env_remove("SEGMENTATION_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server binary");
        let pid = child.id();
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let echo = std::env::var_os("TEST_LOG").is_some();
        // Reads the log until the process ends (a full pipe would block the server).
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if echo {
                    eprintln!("[server {pid}] {line}");
                }
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && v["message"] == "listening"
                    && let Some(addr) = v["grpc"].as_str().and_then(|a| a.parse().ok())
                {
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
            .await
            .expect("log reader")
            .expect("the server logs `listening` within a minute");
        ServerProcess { child, addr, pid }
    }

    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect to the server process")
    }

    /// `kill -9`: no shutdown, no lease release, nothing flushed.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The process id inside a job's `worker` (`host/pid/tag/worker-n`).
pub fn worker_pid(worker: &str) -> Option<u32> {
    worker.split('/').nth(1).and_then(|p| p.parse().ok())
}
