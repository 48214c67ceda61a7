//! Pass-through overhead of the fault proxy: one HTTP request through the
//! proxy versus the same request straight to a trivial local server.

use std::net::SocketAddr;

use criterion::{criterion_group, criterion_main, Criterion};
use somon_chaos::FaultProxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A minimal keep-alive HTTP/1.1 server answering every request with "ok".
async fn trivial_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {
                            let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                            if stream.write_all(reply).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

fn pass_through(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (server, proxy) = runtime.block_on(async {
        let server = trivial_server().await;
        let proxy = FaultProxy::start(server).await.expect("proxy");
        (server, proxy)
    });
    let client = reqwest::Client::new();
    let direct = format!("http://{server}/");
    let proxied = format!("http://{}/", proxy.addr());
    let mut group = c.benchmark_group("pass_through");
    for (name, url) in [("direct", &direct), ("proxied", &proxied)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let body = client
                        .get(url)
                        .send()
                        .await
                        .expect("send")
                        .bytes()
                        .await
                        .expect("body");
                    assert_eq!(&body[..], b"ok");
                })
            })
        });
    }
    group.finish();
    drop(proxy);
}

criterion_group!(benches, pass_through);
criterion_main!(benches);
