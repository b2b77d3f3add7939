//! Inputs of the bench configuration (DESIGN §6) and the naive implementation a user would write.

#![allow(dead_code)]

use focal_loss::{Backend, FocalLoss, Out};

/// A task of the bench configuration.
#[derive(Clone, Copy, Debug)]
pub enum Task {
    /// Binary, one logit per sample, targets Bernoulli(0.5), α = 0.25.
    Binary { gamma: f32 },
    /// Multi-label with `classes` columns, targets Bernoulli(0.1), α = 0.25.
    MultiLabel { classes: usize },
    /// The same with α given per class (every class 0.25, so the naive code is the same): the
    /// kernel then works row by row (not in the targets; a guard on short rows).
    MultiLabelPerClass { classes: usize },
    /// Multi-class with `classes` classes, uniform class indices, weights linspace(0.25, 0.75, C).
    MultiClass { classes: usize },
}

impl Task {
    pub fn name(&self) -> String {
        match self {
            Task::Binary { gamma } => format!("binary γ={gamma}"),
            Task::MultiLabel { classes } => format!("multi-label C={classes}"),
            Task::MultiLabelPerClass { classes } => format!("α/class C={classes}"),
            Task::MultiClass { classes } => format!("multi-class C={classes}"),
        }
    }

    fn classes(&self) -> usize {
        match *self {
            Task::Binary { .. } => 1,
            Task::MultiLabel { classes }
            | Task::MultiLabelPerClass { classes }
            | Task::MultiClass { classes } => classes,
        }
    }
}

/// A small deterministic generator.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    }
    /// N(0, sd²) by Box–Muller.
    pub fn normal(&mut self, sd: f32) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        sd * (-2.0 * u.ln()).sqrt() * (2.0 * std::f32::consts::PI * v).cos()
    }
}

/// One bench problem: inputs, options and output buffers, allocated once.
pub struct Problem {
    pub task: Task,
    pub logits: Vec<f32>,
    pub targets: Vec<f32>,
    pub indices: Vec<u32>,
    pub weights: Vec<f32>,
    /// α = 0.25 for every class (`MultiLabelPerClass`).
    pub alphas: Vec<f32>,
    pub grad: Vec<f32>,
}

impl Problem {
    /// About `n` elements (logits) of `task`.
    pub fn new(task: Task, n: usize) -> Problem {
        let mut rng = Rng::new(n as u64 ^ 0xF0CA1);
        let c = task.classes();
        let rows = (n / c).max(1);
        let logits: Vec<f32> = (0..rows * c).map(|_| rng.normal(3.0)).collect();
        let (targets, indices) = match task {
            Task::Binary { .. } => ((0..rows).map(|_| (rng.uniform() < 0.5) as u8 as f32).collect(), vec![]),
            Task::MultiLabel { .. } | Task::MultiLabelPerClass { .. } => {
                ((0..rows * c).map(|_| (rng.uniform() < 0.1) as u8 as f32).collect(), vec![])
            }
            Task::MultiClass { .. } => {
                (vec![], (0..rows).map(|_| ((rng.uniform() * c as f32) as u32).min(c as u32 - 1)).collect())
            }
        };
        let weights = (0..c).map(|j| 0.25 + 0.5 * j as f32 / (c.max(2) - 1) as f32).collect();
        let alphas = vec![0.25; c];
        Problem { task, grad: vec![0.0; logits.len()], logits, targets, indices, weights, alphas }
    }

    pub fn elements(&self) -> usize {
        self.logits.len()
    }

    /// Fused forward + backward (or forward only) with the library on `backend`.
    pub fn run(&mut self, backend: Backend, fused: bool) -> f32 {
        let c = self.task.classes();
        let out = if fused { Out::new().grad(&mut self.grad) } else { Out::new() };
        match self.task {
            Task::Binary { gamma } => {
                let fl = FocalLoss::builder().gamma(gamma).alpha(0.25).backend(backend).build().unwrap();
                fl.sigmoid(&self.logits, &self.targets, 1, out).unwrap()
            }
            Task::MultiLabel { .. } => {
                let fl = FocalLoss::builder().gamma(2.0).alpha(0.25).backend(backend).build().unwrap();
                fl.sigmoid(&self.logits, &self.targets, c, out).unwrap()
            }
            Task::MultiLabelPerClass { .. } => {
                let alphas = &self.alphas[..c];
                let fl =
                    FocalLoss::builder().gamma(2.0).class_alpha(alphas).backend(backend).build().unwrap();
                fl.sigmoid(&self.logits, &self.targets, c, out).unwrap()
            }
            Task::MultiClass { .. } => {
                let fl = FocalLoss::builder()
                    .gamma(2.0)
                    .class_alpha(&self.weights)
                    .backend(backend)
                    .build()
                    .unwrap();
                fl.softmax(&self.logits, &self.indices, c, out).unwrap()
            }
        }
    }

    /// The same with the naive implementation.
    pub fn run_naive(&mut self, fused: bool) -> f32 {
        let c = self.task.classes();
        let grad = if fused { Some(&mut self.grad[..]) } else { None };
        match self.task {
            Task::Binary { gamma } => naive_sigmoid(&self.logits, &self.targets, gamma, 0.25, grad),
            Task::MultiLabel { .. } | Task::MultiLabelPerClass { .. } => {
                naive_sigmoid(&self.logits, &self.targets, 2.0, 0.25, grad)
            }
            Task::MultiClass { .. } => {
                naive_softmax(&self.logits, &self.indices, c, 2.0, &self.weights, grad)
            }
        }
    }
}

/// The obvious scalar code (libm's expf, logf, powf), reduction mean.
pub fn naive_sigmoid(x: &[f32], y: &[f32], gamma: f32, alpha: f32, mut grad: Option<&mut [f32]>) -> f32 {
    let n = x.len() as f32;
    let mut sum = 0.0f32;
    for i in 0..x.len() {
        let p = 1.0 / (1.0 + libm::expf(-x[i]));
        let pt = if y[i] == 1.0 { p } else { 1.0 - p };
        let at = if y[i] == 1.0 { alpha } else { 1.0 - alpha };
        let m = 1.0 - pt;
        let ce = -libm::logf(pt.max(1e-12));
        sum += at * libm::powf(m, gamma) * ce;
        if let Some(g) = grad.as_deref_mut() {
            let s = 2.0 * y[i] - 1.0;
            g[i] = -s * at * libm::powf(m, gamma) * (gamma * pt * ce / m.max(1e-12) * m + m) / n;
        }
    }
    sum / n
}

/// The obvious scalar softmax code, reduction mean.
pub fn naive_softmax(
    x: &[f32],
    t: &[u32],
    c: usize,
    gamma: f32,
    w: &[f32],
    mut grad: Option<&mut [f32]>,
) -> f32 {
    let rows = t.len();
    let mut sum = 0.0f32;
    for r in 0..rows {
        let row = &x[r * c..][..c];
        let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let z: f32 = row.iter().map(|&v| libm::expf(v - max)).sum();
        let k = t[r] as usize;
        let pt = libm::expf(row[k] - max) / z;
        let lp = row[k] - max - libm::logf(z);
        let wt = w[k];
        let q = 1.0 - pt;
        sum += -wt * libm::powf(q, gamma) * lp;
        if let Some(g) = grad.as_deref_mut() {
            let gt = libm::powf(q, gamma) * (gamma * pt * lp / q.max(1e-12) - 1.0);
            for j in 0..c {
                let pj = libm::expf(row[j] - max) / z;
                g[r * c + j] = if j == k { wt * gt * q } else { -pj * wt * gt } / rows as f32;
            }
        }
    }
    sum / rows as f32
}

/// The bench cases of the issue.
pub fn cases() -> Vec<Task> {
    vec![
        Task::Binary { gamma: 2.0 },
        Task::Binary { gamma: 1.5 },
        Task::MultiLabel { classes: 80 },
        Task::MultiLabelPerClass { classes: 10 },
        Task::MultiLabelPerClass { classes: 80 },
        Task::MultiClass { classes: 10 },
        Task::MultiClass { classes: 80 },
        Task::MultiClass { classes: 1000 },
    ]
}
