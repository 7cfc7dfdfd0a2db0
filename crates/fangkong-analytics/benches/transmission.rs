//! Timing of the transmission-graph queries at the size of issue 3: 1,000,000
//! cases and 5,000,000 close contacts.
//!
//! Run with `cargo bench -p fangkong-analytics --bench transmission`.
//!
//! The graph is synthetic (fixed seed). Cases `0..1,000` are index cases of
//! 1,000 outbreaks; every later case is infected by a uniformly random
//! earlier case (so early cases infect several, most infect none or one),
//! dated 2–8 days after it, and one case in twenty also has a contact link
//! from its source's source. Each contact is linked to a random case, one in
//! ten also to that case's source. Outbreaks stay apart, so clusters average
//! 6,000 people. The graph is timed twice: with ids in the order of
//! generation (cases, then contacts), and with ids randomly permuted — the
//! worst case for memory locality.
//!
//! Timed: the build ([`TransmissionGraph::from_links`], median of 3), and
//! over 1,000 random cases and 1,000 random people: `within(k = 3)` with a
//! reused [`Bfs`], the cluster of a node (its id and member list, copied as a
//! caller would), and the cluster's summary (regions and span of days).

use std::hint::black_box;
use std::time::{Duration, Instant};

use fangkong_analytics::transmission::{Bfs, Link, TransmissionGraph};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const CASES: u32 = 1_000_000;
const CONTACTS: u32 = 5_000_000;
const INDEX_CASES: u32 = 1_000;
const COUNTIES: u32 = 3_000;
const QUERIES: usize = 1_000;
const BUILDS: usize = 3;

struct Synthetic {
    nodes: usize,
    links: Vec<Link>,
    regions: Vec<u32>,
    days: Vec<Option<i32>>,
    /// The node ids of the cases.
    cases: Vec<u32>,
}

fn generate(rng: &mut StdRng) -> Synthetic {
    let nodes = (CASES + CONTACTS) as usize;
    let mut links = Vec::with_capacity(6_700_000);
    let mut source = vec![u32::MAX; CASES as usize];
    let mut day = vec![0i32; CASES as usize];
    let mut regions = vec![0u32; nodes];
    let mut days = vec![None; nodes];
    for i in 0..CASES {
        let iu = i as usize;
        if i < INDEX_CASES {
            day[iu] = rng.gen_range(0..30);
            regions[iu] = rng.gen_range(0..COUNTIES);
        } else {
            let j = rng.gen_range(0..i);
            let ju = j as usize;
            source[iu] = j;
            day[iu] = day[ju] + rng.gen_range(2..=8);
            // Mostly the source's county, sometimes a neighbour's.
            regions[iu] = if rng.gen_bool(0.9) {
                regions[ju]
            } else {
                (regions[ju] + 1) % COUNTIES
            };
            links.push(Link::transmission(j, i).on(day[iu]));
            let grand = source[ju];
            if grand != u32::MAX && rng.gen_bool(0.05) {
                links.push(Link::contact(grand, i).on(day[iu] - 1));
            }
        }
        days[iu] = Some(day[iu]);
    }
    for c in CASES..CASES + CONTACTS {
        let case = rng.gen_range(0..CASES) as usize;
        let exposed = day[case] - rng.gen_range(0..=3);
        links.push(Link::contact(case as u32, c).on(exposed));
        if source[case] != u32::MAX && rng.gen_bool(0.1) {
            links.push(Link::contact(source[case], c).on(exposed - 2));
        }
        regions[c as usize] = regions[case];
    }
    Synthetic {
        nodes,
        links,
        regions,
        days,
        cases: (0..CASES).collect(),
    }
}

/// The same graph with node ids permuted.
fn permuted(s: &Synthetic, rng: &mut StdRng) -> Synthetic {
    let mut perm: Vec<u32> = (0..s.nodes as u32).collect();
    perm.shuffle(rng);
    let links = s
        .links
        .iter()
        .map(|l| Link {
            source: perm[l.source as usize],
            infectee: perm[l.infectee as usize],
            ..*l
        })
        .collect();
    let mut regions = vec![0; s.nodes];
    let mut days = vec![None; s.nodes];
    for (v, &p) in perm.iter().enumerate() {
        regions[p as usize] = s.regions[v];
        days[p as usize] = s.days[v];
    }
    Synthetic {
        nodes: s.nodes,
        links,
        regions,
        days,
        cases: s.cases.iter().map(|&c| perm[c as usize]).collect(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median and maximum of per-query times, and the mean of a size.
fn report(what: &str, mut times: Vec<Duration>, sizes: &[usize]) {
    times.sort();
    let median = times[times.len() / 2];
    let p99 = times[times.len() * 99 / 100];
    let max = times[times.len() - 1];
    let mean = sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64;
    println!(
        "    {what:<34} median {:>8.3} ms   p99 {:>8.3} ms   max {:>8.3} ms   mean size {mean:>8.0}",
        ms(median),
        ms(p99),
        ms(max),
    );
}

fn run(name: &str, s: &Synthetic, rng: &mut StdRng) {
    println!("{name}");
    let mut build_times = Vec::new();
    let mut graph = None;
    for _ in 0..BUILDS {
        drop(graph.take());
        let start = Instant::now();
        let g = TransmissionGraph::from_links(s.nodes, &s.links);
        build_times.push(start.elapsed());
        graph = Some(g);
    }
    let Some(Ok(g)) = graph else {
        println!("  the graph could not be built");
        return;
    };
    build_times.sort();
    println!(
        "  build: median {:.0} ms over {BUILDS} ({} nodes, {} links kept of {}, {} clusters, {:.0} MiB)",
        ms(build_times[BUILDS / 2]),
        g.node_count(),
        g.link_count(),
        s.links.len(),
        g.cluster_count(),
        g.heap_bytes() as f64 / (1 << 20) as f64,
    );

    let mut bfs = Bfs::new(&g);
    let cases: Vec<u32> = s.cases.choose_multiple(rng, QUERIES).copied().collect();
    let people: Vec<u32> = (0..QUERIES)
        .map(|_| rng.gen_range(0..s.nodes as u32))
        .collect();
    for (what, picks) in [("cases", cases), ("people", people)] {
        println!("  over {QUERIES} random {what}:");

        let mut times = Vec::with_capacity(QUERIES);
        let mut sizes = Vec::with_capacity(QUERIES);
        for &v in &picks {
            let start = Instant::now();
            let n = black_box(bfs.within(&g, v, 3)).len();
            times.push(start.elapsed());
            sizes.push(n);
        }
        report("within(k = 3), reused Bfs", times, &sizes);

        let mut times = Vec::with_capacity(QUERIES);
        let mut sizes = Vec::with_capacity(QUERIES);
        for &v in &picks {
            let start = Instant::now();
            let members = g.cluster_containing(v).map(|c| (c.id, c.members.to_vec()));
            let n = black_box(members).map_or(0, |(_, m)| m.len());
            times.push(start.elapsed());
            sizes.push(n);
        }
        report("cluster of a node (ids copied)", times, &sizes);

        let mut times = Vec::with_capacity(QUERIES);
        let mut sizes = Vec::with_capacity(QUERIES);
        for &v in &picks {
            let start = Instant::now();
            let summary = g
                .cluster_of(v)
                .and_then(|c| g.summarise(c, &s.regions, &s.days).ok());
            let n = black_box(summary).map_or(0, |x| x.regions.len());
            times.push(start.elapsed());
            sizes.push(n);
        }
        report("cluster summary (regions counted)", times, &sizes);

        let mut times = Vec::with_capacity(QUERIES);
        let mut sizes = Vec::with_capacity(QUERIES);
        for &v in &picks {
            let start = Instant::now();
            let chain = g.source_chain(v);
            let n = black_box(chain).map_or(0, |c| c.nodes.len());
            times.push(start.elapsed());
            sizes.push(n);
        }
        report("source chain", times, &sizes);
    }

    let start = Instant::now();
    let top = black_box(g.top_spreaders(100));
    println!(
        "  top_spreaders(100): {:.0} ms (first {:?})",
        ms(start.elapsed()),
        top.first()
    );
    let start = Instant::now();
    let big = g.summarise_clusters(1, &s.regions, &s.days);
    println!(
        "  summarise_clusters (all): {:.0} ms ({} clusters, largest {})",
        ms(start.elapsed()),
        big.as_ref().map_or(0, Vec::len),
        big.as_ref()
            .ok()
            .and_then(|b| b.first())
            .map_or(0, |c| c.size),
    );
}

fn main() {
    let mut rng = StdRng::seed_from_u64(20200123);
    let start = Instant::now();
    let s = generate(&mut rng);
    println!(
        "generated {} cases, {} contacts, {} links in {:.1} s",
        CASES,
        CONTACTS,
        s.links.len(),
        start.elapsed().as_secs_f64()
    );
    run("ids in generation order", &s, &mut rng);
    let p = permuted(&s, &mut rng);
    drop(s);
    run("ids randomly permuted", &p, &mut rng);
}
