//! A real DNS server on loopback for the CNAME checks: it answers UDP queries from a table
//! (CNAME, A-only, NXDOMAIN, SERVFAIL) or stays silent (to make the resolver time out). The table
//! can change while it runs (`set`, `remove`), as a domain's DNS does.

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use tokio::net::UdpSocket;

#[derive(Debug, Clone)]
pub enum Answer {
    Cname(&'static str),
    /// The name exists, with an A record but no CNAME.
    AOnly,
    /// Never answer.
    Silent,
    /// Answer SERVFAIL, as a broken or unreachable authoritative server makes a resolver do.
    ServFail,
}

type Zone = Arc<RwLock<HashMap<String, Answer>>>;

pub struct LocalDns {
    pub addr: SocketAddr,
    zone: Zone,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LocalDns {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LocalDns {
    /// Names not in `zone` are NXDOMAIN.
    pub async fn start(zone: &[(&str, Answer)]) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let zone: Zone = Arc::new(RwLock::new(
            zone.iter()
                .map(|(n, a)| (n.to_ascii_lowercase(), a.clone()))
                .collect(),
        ));
        let table = zone.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 1500];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let Some(q) = query.queries().first().cloned() else {
                    continue;
                };
                let name = q
                    .name()
                    .to_ascii()
                    .trim_end_matches('.')
                    .to_ascii_lowercase();
                let mut reply = Message::new();
                reply
                    .set_id(query.id())
                    .set_message_type(MessageType::Response)
                    .set_op_code(OpCode::Query)
                    .set_authoritative(true)
                    .set_recursion_desired(query.recursion_desired())
                    .set_recursion_available(true)
                    .add_query(q.clone());
                let answer = table.read().unwrap().get(&name).cloned();
                match answer {
                    Some(Answer::Silent) => continue,
                    Some(Answer::ServFail) => {
                        reply.set_response_code(ResponseCode::ServFail);
                    }
                    Some(Answer::Cname(target)) => {
                        let rdata = RData::CNAME(CNAME(
                            Name::from_ascii(format!("{}.", target.trim_end_matches('.'))).unwrap(),
                        ));
                        reply.add_answer(Record::from_rdata(q.name().clone(), 60, rdata));
                    }
                    Some(Answer::AOnly) => {
                        if q.query_type() == RecordType::A {
                            reply.add_answer(Record::from_rdata(
                                q.name().clone(),
                                60,
                                RData::A(A::new(127, 0, 0, 1)),
                            ));
                        }
                    }
                    None => {
                        reply.set_response_code(ResponseCode::NXDomain);
                    }
                }
                let _ = socket.send_to(&reply.to_vec().unwrap(), peer).await;
            }
        });
        LocalDns { addr, zone, task }
    }

    /// From now on `name` answers `answer`.
    pub fn set(&self, name: &str, answer: Answer) {
        self.zone
            .write()
            .unwrap()
            .insert(name.to_ascii_lowercase(), answer);
    }

    /// From now on `name` does not exist (NXDOMAIN).
    pub fn remove(&self, name: &str) {
        self.zone
            .write()
            .unwrap()
            .remove(&name.to_ascii_lowercase());
    }
}

/// A handle on a running `LocalDns`'s zone, for code that cannot borrow the server (a browser
/// journey in its own task).
#[derive(Clone)]
pub struct ZoneHandle(Zone);

impl ZoneHandle {
    /// From now on `name` answers `answer`.
    pub fn set(&self, name: &str, answer: Answer) {
        self.0
            .write()
            .unwrap()
            .insert(name.to_ascii_lowercase(), answer);
    }
}

impl LocalDns {
    pub fn zone_handle(&self) -> ZoneHandle {
        ZoneHandle(self.zone.clone())
    }
}
