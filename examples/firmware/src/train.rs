//! On-device fine-tuning: a one-hidden-layer head (64 pixels → 16 ReLU units → 1 logit) that
//! learns "is this handwritten digit an 8?" with focal loss, on the UCI optical digits in flash
//! (174 of 1797 samples are 8s: 9.7 %).
//!
//! Everything lives on the stack or in flash: the 1057 parameters, their momentum and gradient,
//! one mini-batch of hidden activations and of logits, which `sigmoid_in_place` turns into the
//! gradient of the batch's mean loss (the fused in-place form: no second buffer), and the
//! shuffled order of the training samples. Every fifth sample is held out for the final recall
//! and precision. A plain logistic regression on the raw pixels reaches a recall of only about
//! 0.83 on this task; the hidden layer makes it a comfortable pass.

use focal_loss::{Error, FocalLoss, Out, Reduction};

/// Pixels per sample (8 × 8 counts of on-pixels, 0..=16).
pub const FEATURES: usize = 64;
/// Samples per mini-batch.
pub const BATCH: usize = 32;

/// The data set: `pixels[i]` and its digit `labels[i]`.
#[derive(Clone, Copy)]
pub struct Data<'d> {
    pub pixels: &'d [[u8; FEATURES]],
    pub labels: &'d [u8],
}

/// The training recipe.
#[derive(Clone, Copy, Debug)]
pub struct Recipe {
    /// The rare class: samples of this digit are the positives.
    pub digit: u8,
    /// Focal loss γ.
    pub gamma: f32,
    /// Focal loss α (the weight of the positives).
    pub alpha: f32,
    /// Step size of SGD with momentum.
    pub learning_rate: f32,
    /// The step size is multiplied by this after every epoch.
    pub decay: f32,
    /// Momentum.
    pub momentum: f32,
    /// Sample `i` is held out when `i % hold_out_every == 0`.
    pub hold_out_every: usize,
    /// Passes over the training samples.
    pub epochs: usize,
}

/// γ = 2 as in the paper; α = 0.75 weighs the rare positives up (the paper's 0.25 favours
/// recall less on a task this small); the schedule was chosen on the host, where several seeds
/// all reach a held-out recall of 0.92 to 0.94.
pub const RECIPE: Recipe = Recipe {
    digit: 8,
    gamma: 2.0,
    alpha: 0.75,
    learning_rate: 0.3,
    decay: 0.95,
    momentum: 0.9,
    hold_out_every: 5,
    epochs: 30,
};

/// Counts on the held-out samples, the rare class being the positive one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scores {
    pub positives: usize,
    pub samples: usize,
    pub true_pos: usize,
    pub false_pos: usize,
    pub false_neg: usize,
}

impl Scores {
    pub fn recall(&self) -> f32 {
        ratio(self.true_pos, self.true_pos + self.false_neg)
    }

    pub fn precision(&self) -> f32 {
        ratio(self.true_pos, self.true_pos + self.false_pos)
    }
}

fn ratio(a: usize, b: usize) -> f32 {
    if b == 0 {
        0.0
    } else {
        a as f32 / b as f32
    }
}

/// Hidden units.
pub const HIDDEN: usize = 16;

/// The parameters (and, with the same shape, their gradient and momentum).
#[derive(Clone, Copy)]
struct Params {
    /// Input → hidden weights, one row of 64 per hidden unit.
    w1: [[f32; FEATURES]; HIDDEN],
    b1: [f32; HIDDEN],
    /// Hidden → logit weights.
    w2: [f32; HIDDEN],
    b2: f32,
}

impl Params {
    const ZERO: Params =
        Params { w1: [[0.0; FEATURES]; HIDDEN], b1: [0.0; HIDDEN], w2: [0.0; HIDDEN], b2: 0.0 };

    /// `self = momentum·self + g` (the velocity update), element by element.
    fn decay_add(&mut self, momentum: f32, g: &Params) {
        let step = |v: &mut f32, g: f32| *v = momentum * *v + g;
        for (v, g) in self.w1.iter_mut().flatten().zip(g.w1.iter().flatten()) {
            step(v, *g);
        }
        for (v, g) in self.b1.iter_mut().zip(&g.b1).chain(self.w2.iter_mut().zip(&g.w2)) {
            step(v, *g);
        }
        step(&mut self.b2, g.b2);
    }

    /// `self -= rate·v`.
    fn descend(&mut self, rate: f32, v: &Params) {
        for (p, v) in self.w1.iter_mut().flatten().zip(v.w1.iter().flatten()) {
            *p -= rate * v;
        }
        for (p, v) in self.b1.iter_mut().zip(&v.b1).chain(self.w2.iter_mut().zip(&v.w2)) {
            *p -= rate * v;
        }
        self.b2 -= rate * v.b2;
    }
}

/// The pixels of one sample, scaled to [0, 1].
fn input(pixels: &[u8; FEATURES]) -> [f32; FEATURES] {
    pixels.map(|p| f32::from(p) * (1.0 / 16.0))
}

/// Trains the head with mini-batch SGD with momentum.
pub struct Trainer<'d> {
    data: Data<'d>,
    recipe: Recipe,
    loss: FocalLoss<'static>,
    params: Params,
    velocity: Params,
    /// The current step size.
    rate: f32,
    /// Indices of the training samples, reshuffled every epoch.
    order: &'d mut [u16],
    rng: XorShift,
}

/// xorshift32: the same numbers on every run.
struct XorShift(u32);

impl XorShift {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    /// A uniform in [−scale, scale).
    fn symmetric(&mut self, scale: f32) -> f32 {
        let unit = (self.next() >> 8) as f32 * (1.0 / (1u32 << 24) as f32);
        (unit * 2.0 - 1.0) * scale
    }
}

impl<'d> Trainer<'d> {
    /// A freshly initialised model (the same pseudo-random weights on every run). `order` must
    /// hold exactly the training samples' count ([`Trainer::train_len`]).
    pub fn new(data: Data<'d>, recipe: Recipe, order: &'d mut [u16]) -> Result<Self, Error> {
        let loss = FocalLoss::builder()
            .gamma(recipe.gamma)
            .alpha(recipe.alpha)
            .reduction(Reduction::Mean)
            .build()?;
        let mut n = 0;
        for i in (0..data.labels.len()).filter(|i| i % recipe.hold_out_every != 0) {
            order[n] = i as u16;
            n += 1;
        }
        assert_eq!(n, order.len(), "order must hold the training samples");
        // Uniform initialisation of the hidden layer; small output weights.
        let mut rng = XorShift(0x2545_f491);
        let mut params = Params::ZERO;
        for w in params.w1.iter_mut().flatten() {
            *w = rng.symmetric(0.3);
        }
        for w in params.w2.iter_mut() {
            *w = rng.symmetric(0.5);
        }
        Ok(Trainer {
            data,
            recipe,
            loss,
            params,
            velocity: Params::ZERO,
            rate: recipe.learning_rate,
            order,
            rng,
        })
    }

    /// How many samples train (the others are held out).
    pub fn train_len(labels: usize, recipe: &Recipe) -> usize {
        labels - labels.div_ceil(recipe.hold_out_every)
    }

    /// The hidden activations and the logit of one sample.
    fn forward(&self, x: &[f32; FEATURES]) -> ([f32; HIDDEN], f32) {
        let p = &self.params;
        let mut h = [0.0; HIDDEN];
        let mut z = p.b2;
        for (h, ((w1, b1), w2)) in h.iter_mut().zip(p.w1.iter().zip(&p.b1).zip(&p.w2)) {
            let mut a = *b1;
            for (w, x) in w1.iter().zip(x) {
                a += w * x;
            }
            *h = a.max(0.0);
            z += w2 * *h;
        }
        (h, z)
    }

    fn target(&self, i: usize) -> f32 {
        if self.data.labels[i] == self.recipe.digit {
            1.0
        } else {
            0.0
        }
    }

    /// The mean focal loss over the training samples, without training (forward only).
    pub fn training_loss(&self) -> Result<f32, Error> {
        let (mut total, mut count) = (0.0, 0);
        for batch in self.order.chunks(BATCH) {
            let (mut z, mut y) = ([0.0; BATCH], [0.0; BATCH]);
            for (k, &i) in batch.iter().enumerate() {
                let i = usize::from(i);
                z[k] = self.forward(&input(&self.data.pixels[i])).1;
                y[k] = self.target(i);
            }
            let n = batch.len();
            total += self.loss.sigmoid(&z[..n], &y[..n], 1, Out::new())? * n as f32;
            count += n;
        }
        Ok(total / count as f32)
    }

    /// One pass of mini-batch SGD with momentum over the reshuffled training samples; returns
    /// the mean of the batches' losses.
    pub fn epoch(&mut self) -> Result<f32, Error> {
        self.shuffle();
        let (mut total, mut count) = (0.0, 0);
        for b in 0..self.order.len().div_ceil(BATCH) {
            let start = b * BATCH;
            let n = BATCH.min(self.order.len() - start);
            let (mut z, mut y) = ([0.0; BATCH], [0.0; BATCH]);
            let mut h = [[0.0; HIDDEN]; BATCH];
            for k in 0..n {
                let i = usize::from(self.order[start + k]);
                (h[k], z[k]) = self.forward(&input(&self.data.pixels[i]));
                y[k] = self.target(i);
            }
            // The fused in-place kernel: z becomes d(mean loss)/dz.
            total += self.loss.sigmoid_in_place(&mut z[..n], &y[..n], 1, None)? * n as f32;
            count += n;

            // Back-propagation through the head.
            let mut g = Params::ZERO;
            for k in 0..n {
                let x = input(&self.data.pixels[usize::from(self.order[start + k])]);
                let dz = z[k];
                g.b2 += dz;
                for (j, &hj) in h[k].iter().enumerate() {
                    g.w2[j] += dz * hj;
                    if hj > 0.0 {
                        let dh = dz * self.params.w2[j];
                        g.b1[j] += dh;
                        for (gw, x) in g.w1[j].iter_mut().zip(&x) {
                            *gw += dh * x;
                        }
                    }
                }
            }
            self.velocity.decay_add(self.recipe.momentum, &g);
            self.params.descend(self.rate, &self.velocity);
        }
        self.rate *= self.recipe.decay;
        Ok(total / count as f32)
    }

    /// Predicts the rare class when its probability exceeds 1/2 (a positive logit), on the
    /// held-out samples.
    pub fn evaluate(&self) -> Scores {
        let mut s = Scores::default();
        for i in (0..self.data.labels.len()).filter(|i| i % self.recipe.hold_out_every == 0) {
            let actual = self.target(i) == 1.0;
            let predicted = self.forward(&input(&self.data.pixels[i])).1 > 0.0;
            s.samples += 1;
            s.positives += usize::from(actual);
            match (actual, predicted) {
                (true, true) => s.true_pos += 1,
                (false, true) => s.false_pos += 1,
                (true, false) => s.false_neg += 1,
                (false, false) => {}
            }
        }
        s
    }

    /// Fisher–Yates.
    fn shuffle(&mut self) {
        for i in (1..self.order.len()).rev() {
            let j = (self.rng.next() % (i as u32 + 1)) as usize;
            self.order.swap(i, j);
        }
    }
}
