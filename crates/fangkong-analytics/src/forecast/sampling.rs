//! Random draws: a fast Poisson sampler, negative binomial as a
//! gamma–Poisson mixture, and seed mixing.

use rand::Rng;
use rand_distr::{Distribution, Gamma, StandardNormal};

use crate::special::ln_gamma;

use super::MAX_COUNT;

/// A Poisson draw with mean `lambda` (0 for a mean that is not positive;
/// means above [`MAX_COUNT`] are capped).
///
/// rand_distr 0.4's `Poisson` needs a fresh `Poisson::new` (a log-gamma) per
/// mean and rejects with a Cauchy envelope; here the mean changes on every
/// draw, so instead:
/// - `λ < 10`: inversion by sequential search from 0 (one uniform; Devroye
///   1986, §X.3), about `λ + 1` steps;
/// - `10 ≤ λ < 10⁷`: the transformed rejection method PTRS of Hörmann (1993,
///   *Insurance Math Econom* 12:39–45), as in NumPy: two uniforms, with
///   acceptance above 0.9 and no set-up beyond a square root and a log;
/// - `λ ≥ 10⁷`: the normal approximation `⌊λ + √λ·Z + ½⌋`, whose error
///   (skewness `λ^{−1/2} ≤ 3·10⁻⁴`) is far below Monte-Carlo noise, and which
///   avoids PTRS's cancellation between terms of size `λ ln λ`.
///
/// Measured on `benches/forecast.rs` (3,000 regions × 28 days × 1,000
/// paths, 2 cores): 10.6 s with rand_distr's `Poisson`, 2.4 s with this.
pub(crate) fn poisson<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> f64 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 0.0;
    }
    let lambda = lambda.min(MAX_COUNT);
    if lambda < 10.0 {
        let mut u: f64 = rng.gen();
        let mut p = (-lambda).exp();
        let mut k = 0.0;
        // `p > 0` stops the search should rounding leave `u` above the
        // accumulated mass.
        while u > p && p > 0.0 {
            u -= p;
            k += 1.0;
            p *= lambda / k;
        }
        k
    } else if lambda < 1e7 {
        ptrs(rng, lambda)
    } else {
        let z: f64 = rng.sample(StandardNormal);
        (lambda + lambda.sqrt() * z + 0.5).floor().max(0.0)
    }
}

/// Hörmann's PTRS for `λ ≥ 10`.
fn ptrs<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> f64 {
    let b = 0.931 + 2.53 * lambda.sqrt();
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let v_r = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = rng.gen::<f64>() - 0.5;
        let v: f64 = rng.gen();
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + lambda + 0.43).floor();
        if us >= 0.07 && v <= v_r {
            return k;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        // The exact test, reached in under a tenth of the draws: only here
        // are logarithms needed. ln k! = ln Γ(k + 1).
        if v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln()
            <= -lambda + k * lambda.ln() - ln_gamma(k + 1.0)
        {
            return k;
        }
    }
}

/// A negative-binomial draw with the given mean and size, as
/// `Poisson(Gamma(size, mean/size))`; Poisson when the size is not usable.
pub(crate) fn negative_binomial<R: Rng + ?Sized>(rng: &mut R, mean: f64, size: f64) -> f64 {
    if mean.is_nan() || mean <= 0.0 {
        return 0.0;
    }
    match Gamma::new(size, mean / size) {
        Ok(g) if size.is_finite() => {
            let rate = g.sample(rng);
            poisson(rng, rate)
        }
        _ => poisson(rng, mean),
    }
}

/// SplitMix64's finaliser over `seed + stream·γ`: distinct streams give
/// unrelated seeds.
pub(crate) fn mix(seed: u64, stream: u64) -> u64 {
    let mut z = seed.wrapping_add(stream.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::test_util::{close, moments};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn ln_gamma_serves_as_ln_factorial() {
        // ln 10! and ln 20! (exact factorials), ln 100! (tabulated), and the
        // small whole numbers the exact test meets most.
        assert!(ln_gamma(1.0).abs() < 1e-14 && ln_gamma(2.0).abs() < 1e-14);
        assert!(close(ln_gamma(11.0), 3_628_800f64.ln(), 1e-14));
        assert!(close(
            ln_gamma(21.0),
            2_432_902_008_176_640_000f64.ln(),
            1e-14
        ));
        assert!(close(ln_gamma(101.0), 363.739_375_555_563_5, 1e-14));
        let mut factorial = 1.0_f64;
        for k in 1..=25 {
            factorial *= f64::from(k);
            assert!(close(ln_gamma(f64::from(k) + 1.0), factorial.ln(), 1e-14));
        }
    }

    #[test]
    fn poisson_draws_have_the_right_moments() {
        let mut rng = StdRng::seed_from_u64(1);
        for lambda in [0.3, 4.0, 9.99, 10.0, 37.5, 1_000.0, 2e7] {
            let xs: Vec<f64> = (0..200_000).map(|_| poisson(&mut rng, lambda)).collect();
            let (mean, var) = moments(&xs);
            // Standard error of the mean is sqrt(λ / n); allow 5 of them.
            assert!(
                (mean - lambda).abs() < 5.0 * (lambda / 200_000.0).sqrt(),
                "λ {lambda}: mean {mean}"
            );
            assert!((var / lambda - 1.0).abs() < 0.02, "λ {lambda}: var {var}");
            assert!(xs.iter().all(|x| x.fract() == 0.0 && *x >= 0.0));
        }
        assert_eq!(poisson(&mut rng, 0.0), 0.0);
        assert_eq!(poisson(&mut rng, -3.0), 0.0);
        assert_eq!(poisson(&mut rng, f64::NAN), 0.0);
        let capped = poisson(&mut rng, f64::INFINITY);
        assert!(capped.is_finite() && capped < 1.001 * MAX_COUNT);
    }

    #[test]
    fn ptrs_matches_the_poisson_mass_function() {
        // Frequencies of k for λ = 15 (PTRS) against the exact pmf, within
        // 5 binomial standard errors.
        let lambda = 15.0;
        let n = 400_000;
        let mut rng = StdRng::seed_from_u64(2);
        let mut counts = [0usize; 60];
        for _ in 0..n {
            let k = poisson(&mut rng, lambda) as usize;
            if let Some(c) = counts.get_mut(k) {
                *c += 1;
            }
        }
        for (k, c) in counts.iter().enumerate().take(35).skip(3) {
            let p = (-lambda + k as f64 * f64::ln(lambda) - ln_gamma(k as f64 + 1.0)).exp();
            let se = (p * (1.0 - p) / n as f64).sqrt();
            let freq = *c as f64 / n as f64;
            assert!((freq - p).abs() < 5.0 * se + 1e-5, "k {k}: {freq} vs {p}");
        }
    }

    #[test]
    fn negative_binomial_draws_have_the_right_moments() {
        let mut rng = StdRng::seed_from_u64(3);
        let (mean, size) = (40.0, 2.5);
        let xs: Vec<f64> = (0..200_000)
            .map(|_| negative_binomial(&mut rng, mean, size))
            .collect();
        let (m, v) = moments(&xs);
        assert!(close(m, mean, 0.01), "{m}");
        assert!(close(v, mean + mean * mean / size, 0.03), "{v}");
        assert_eq!(negative_binomial(&mut rng, 0.0, 1.0), 0.0);
    }

    #[test]
    fn seeds_mix_into_distinct_streams() {
        assert_ne!(mix(1, 0), mix(1, 1));
        assert_ne!(mix(1, 0), mix(2, 0));
        assert_eq!(mix(7, 3), mix(7, 3));
    }
}
