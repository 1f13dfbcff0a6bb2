//! Just enough of the DNS wire format (RFC 1035) for a container name
//! server: parse one question, answer A/AAAA/PTR from a table, or refuse.

use std::net::IpAddr;

pub const TYPE_A: u16 = 1;
pub const TYPE_PTR: u16 = 12;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_ANY: u16 = 255;
pub const RCODE_NOERROR: u8 = 0;
pub const RCODE_FORMERR: u8 = 1;
pub const RCODE_NXDOMAIN: u8 = 3;
#[cfg(test)]
pub const RCODE_REFUSED: u8 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub id: u16,
    pub flags: u16,
    /// Lower case, without the trailing dot.
    pub name: String,
    pub qtype: u16,
    /// Byte offset just past the question (to copy it into the answer).
    pub question_end: usize,
}

/// Parse a standard query with exactly one question; None for anything
/// else (responses, truncated or compressed questions).
pub fn parse_query(buf: &[u8]) -> Option<Query> {
    if buf.len() < 12 {
        return None;
    }
    let id = u16::from_be_bytes([buf[0], buf[1]]);
    let flags = u16::from_be_bytes([buf[2], buf[3]]);
    let qdcount = u16::from_be_bytes([buf[4], buf[5]]);
    if flags & 0x8000 != 0 || qdcount != 1 {
        return None;
    }
    let mut pos = 12;
    let mut labels: Vec<String> = Vec::new();
    loop {
        let len = *buf.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        let label = buf.get(pos..pos + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        pos += len;
    }
    let qtype = u16::from_be_bytes([*buf.get(pos)?, *buf.get(pos + 1)?]);
    let _qclass = u16::from_be_bytes([*buf.get(pos + 2)?, *buf.get(pos + 3)?]);
    Some(Query {
        id,
        flags,
        name: labels.join("."),
        qtype,
        question_end: pos + 4,
    })
}

/// A header-only error answer for a message we could not parse.
pub fn format_error(buf: &[u8]) -> Option<Vec<u8>> {
    if buf.len() < 12 || buf[2] & 0x80 != 0 {
        return None;
    }
    let mut out = buf[..12].to_vec();
    out[2] = 0x80 | (buf[2] & 0x79);
    out[3] = RCODE_FORMERR;
    out[4..12].fill(0);
    Some(out)
}

pub enum Answer<'a> {
    Addrs(&'a [IpAddr]),
    Ptr(&'a str),
}

/// Build the response to `q` (question copied from `req`).
pub fn respond(req: &[u8], q: &Query, rcode: u8, answer: Answer<'_>) -> Vec<u8> {
    let mut rrs: Vec<Vec<u8>> = Vec::new();
    match answer {
        Answer::Addrs(addrs) => {
            for ip in addrs {
                let (t, data) = match ip {
                    IpAddr::V4(v4) => (TYPE_A, v4.octets().to_vec()),
                    IpAddr::V6(v6) => (TYPE_AAAA, v6.octets().to_vec()),
                };
                if q.qtype == t || q.qtype == TYPE_ANY {
                    rrs.push(rr(t, &data));
                }
            }
        }
        Answer::Ptr(name) if q.qtype == TYPE_PTR || q.qtype == TYPE_ANY => {
            rrs.push(rr(TYPE_PTR, &encode_name(name)))
        }
        Answer::Ptr(_) => {}
    }
    let mut out = Vec::with_capacity(q.question_end + rrs.iter().map(Vec::len).sum::<usize>());
    out.extend_from_slice(&q.id.to_be_bytes());
    // QR, the request's opcode and RD; AA; no recursion available.
    let opcode_rd = q.flags & 0x7900;
    out.extend_from_slice(&(0x8000 | opcode_rd | 0x0400 | rcode as u16).to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(rrs.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&req[12..q.question_end]);
    for r in rrs {
        out.extend_from_slice(&r);
    }
    out
}

fn rr(t: u16, data: &[u8]) -> Vec<u8> {
    let mut r = vec![0xc0, 0x0c];
    r.extend_from_slice(&t.to_be_bytes());
    r.extend_from_slice(&1u16.to_be_bytes());
    r.extend_from_slice(&60u32.to_be_bytes());
    r.extend_from_slice(&(data.len() as u16).to_be_bytes());
    r.extend_from_slice(data);
    r
}

fn encode_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        let l = &label.as_bytes()[..label.len().min(63)];
        out.push(l.len() as u8);
        out.extend_from_slice(l);
    }
    out.push(0);
    out
}

/// "4.3.2.1.in-addr.arpa" -> 1.2.3.4; "b.a.9....ip6.arpa" -> the IPv6 address.
pub fn reverse_name_to_ip(name: &str) -> Option<IpAddr> {
    if let Some(rest) = name.strip_suffix(".in-addr.arpa") {
        let mut parts: Vec<&str> = rest.split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        parts.reverse();
        return parts.join(".").parse().ok();
    }
    let rest = name.strip_suffix(".ip6.arpa")?;
    let nibbles: Vec<&str> = rest.split('.').collect();
    // One hex digit per label: `u128::from_str_radix` alone would take a
    // sign or several digits in one label and read some other address.
    if nibbles.len() != 32
        || !nibbles
            .iter()
            .all(|n| n.len() == 1 && n.as_bytes()[0].is_ascii_hexdigit())
    {
        return None;
    }
    let hex: String = nibbles.iter().rev().map(|n| n.to_string()).collect();
    let n = u128::from_str_radix(&hex, 16).ok()?;
    Some(IpAddr::V6(n.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend(encode_name(name));
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&1u16.to_be_bytes());
        q
    }

    #[test]
    fn parse_and_answer_a() {
        let req = query("C2.dns.podman.", TYPE_A);
        let q = parse_query(&req).unwrap();
        assert_eq!(
            (q.id, q.name.as_str(), q.qtype),
            (0x1234, "c2.dns.podman", TYPE_A)
        );
        let ips: Vec<IpAddr> = vec!["10.89.0.3".parse().unwrap(), "fd00::3".parse().unwrap()];
        let resp = respond(&req, &q, RCODE_NOERROR, Answer::Addrs(&ips));
        assert_eq!(&resp[..2], &[0x12, 0x34]);
        assert_eq!(resp[2] & 0x80, 0x80);
        assert_eq!(
            u16::from_be_bytes([resp[6], resp[7]]),
            1,
            "only the A record"
        );
        assert_eq!(&resp[resp.len() - 4..], &[10, 89, 0, 3]);
        let refused = respond(&req, &q, RCODE_REFUSED, Answer::Addrs(&[]));
        assert_eq!(refused[3] & 0x0f, RCODE_REFUSED);
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name_to_ip("3.0.89.10.in-addr.arpa"),
            Some("10.89.0.3".parse().unwrap())
        );
        assert_eq!(reverse_name_to_ip("x.in-addr.arpa"), None);
        let v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa";
        assert_eq!(reverse_name_to_ip(v6), Some("fd00::1".parse().unwrap()));
        assert!(parse_query(&[0; 5]).is_none());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn query(id: u16, flags: u16, labels: &[String], qtype: u16) -> Vec<u8> {
        let mut q = id.to_be_bytes().to_vec();
        q.extend_from_slice(&flags.to_be_bytes());
        q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        for l in labels {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&1u16.to_be_bytes());
        q
    }

    /// The records of a response after its question: (type, data).
    fn answers(resp: &[u8], question_end: usize) -> Vec<(u16, Vec<u8>)> {
        let mut out = Vec::new();
        let mut p = question_end;
        while p < resp.len() {
            assert_eq!(
                &resp[p..p + 2],
                &[0xc0, 0x0c],
                "answer names point at the question"
            );
            let t = u16::from_be_bytes([resp[p + 2], resp[p + 3]]);
            let len = u16::from_be_bytes([resp[p + 10], resp[p + 11]]) as usize;
            out.push((t, resp[p + 12..p + 12 + len].to_vec()));
            p += 12 + len;
        }
        assert_eq!(p, resp.len());
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        /// Arbitrary bytes: no panic; anything parsed gets a well-formed
        /// answer, and a format error echoes the id.
        #[test]
        fn arbitrary_bytes_never_panic(buf in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Some(q) = parse_query(&buf) {
                prop_assert!(q.question_end <= buf.len());
                let ips: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap(), "fd00::1".parse().unwrap()];
                let r = respond(&buf, &q, RCODE_NOERROR, Answer::Addrs(&ips));
                prop_assert_eq!(&r[..2], &buf[..2]);
                let _ = respond(&buf, &q, RCODE_NOERROR, Answer::Ptr("x.dns.podman"));
                let _ = reverse_name_to_ip(&q.name);
            } else if let Some(e) = format_error(&buf) {
                prop_assert_eq!(e.len(), 12);
                prop_assert_eq!(&e[..2], &buf[..2]);
            }
        }

        /// A query encodes and decodes to the same (lowercased) name, id
        /// and type; the answer holds exactly the addresses of that type.
        #[test]
        fn query_round_trip_and_answers(
            id in any::<u16>(),
            rd in any::<bool>(),
            labels in prop::collection::vec("[A-Za-z0-9-]{1,63}", 1..5),
            qtype in prop_oneof![Just(TYPE_A), Just(TYPE_AAAA), Just(TYPE_ANY), Just(TYPE_PTR)],
            v4 in prop::collection::vec(any::<[u8; 4]>(), 0..4),
            v6 in prop::collection::vec(any::<[u8; 16]>(), 0..4),
        ) {
            let flags = if rd { 0x0100 } else { 0 };
            let req = query(id, flags, &labels, qtype);
            let q = parse_query(&req).ok_or_else(|| TestCaseError::fail("not parsed"))?;
            prop_assert_eq!(q.id, id);
            prop_assert_eq!(q.qtype, qtype);
            prop_assert_eq!(q.question_end, req.len());
            prop_assert_eq!(&q.name, &labels.join(".").to_ascii_lowercase());
            let mut ips: Vec<IpAddr> = v4.iter().map(|b| IpAddr::from(*b)).collect();
            ips.extend(v6.iter().map(|b| IpAddr::from(*b)));
            let resp = respond(&req, &q, RCODE_NOERROR, Answer::Addrs(&ips));
            prop_assert_eq!(resp[2] & 0x81, 0x80 | u8::from(rd));
            prop_assert!(parse_query(&resp).is_none(), "a response is not a query");
            let got = answers(&resp, q.question_end);
            prop_assert_eq!(u16::from_be_bytes([resp[6], resp[7]]) as usize, got.len());
            let want: Vec<(u16, Vec<u8>)> = ips
                .iter()
                .filter_map(|ip| match ip {
                    IpAddr::V4(a) if matches!(qtype, TYPE_A | TYPE_ANY) => Some((TYPE_A, a.octets().to_vec())),
                    IpAddr::V6(a) if matches!(qtype, TYPE_AAAA | TYPE_ANY) => Some((TYPE_AAAA, a.octets().to_vec())),
                    _ => None,
                })
                .collect();
            prop_assert_eq!(got, want);
        }

        /// Reverse names of any address decode to it; one with a
        /// multi-digit or signed "nibble" is no address.
        #[test]
        fn reverse_names_round_trip(v4 in any::<[u8; 4]>(), v6 in any::<[u8; 16]>()) {
            let n4 = format!("{}.{}.{}.{}.in-addr.arpa", v4[3], v4[2], v4[1], v4[0]);
            prop_assert_eq!(reverse_name_to_ip(&n4), Some(IpAddr::from(v4)));
            let hex: Vec<String> = v6
                .iter()
                .flat_map(|b| [format!("{:x}", b >> 4), format!("{:x}", b & 0xf)])
                .rev()
                .collect();
            let n6 = format!("{}.ip6.arpa", hex.join("."));
            prop_assert_eq!(reverse_name_to_ip(&n6), Some(IpAddr::from(v6)));
            let mut bad = hex.clone();
            bad[0] = "+1".into();
            prop_assert_eq!(reverse_name_to_ip(&format!("{}.ip6.arpa", bad.join("."))), None);
            bad[0] = String::new();
            prop_assert_eq!(reverse_name_to_ip(&format!("{}.ip6.arpa", bad.join("."))), None);
        }
    }
}
