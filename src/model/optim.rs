//! AdamW whose state can be read and restored, so that a training run can be saved after
//! an epoch and resumed ([`super::checkpoint`]): candle-nn's `AdamW` keeps its moments
//! private. The arithmetic is candle-nn's, operation for operation, so a run gives the
//! same weights with either (`tests/train.rs` checks it bit for bit).

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use candle_nn::ParamsAdamW;

use crate::{Error, Result};

/// AdamW with decoupled weight decay over a fixed list of variables.
pub struct AdamW {
    vars: Vec<Moments>,
    steps: usize,
    params: ParamsAdamW,
}

/// One variable and its running first and second moments.
struct Moments {
    var: Var,
    first: Var,
    second: Var,
}

impl AdamW {
    /// An optimiser over `vars` (moments at zero, no step taken).
    pub fn new(vars: Vec<Var>, params: ParamsAdamW) -> Result<AdamW> {
        let vars = vars
            .into_iter()
            .map(|var| {
                let zeros = || Var::zeros(var.shape(), var.dtype(), var.device());
                Ok(Moments {
                    first: zeros()?,
                    second: zeros()?,
                    var,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AdamW {
            vars,
            steps: 0,
            params,
        })
    }

    /// Sets the learning rate of the next steps.
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.params.lr = lr;
    }

    /// Back-propagates `loss` and takes one step.
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        let grads = loss.backward()?;
        self.step(&grads)
    }

    /// Takes one step along `grads` (variables without a gradient are left alone).
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.steps += 1;
        let p = &self.params;
        let lr = p.lr;
        let decay = 1f64 - lr * p.weight_decay;
        let scale_m = 1f64 / (1f64 - p.beta1.powi(self.steps as i32));
        let scale_v = 1f64 / (1f64 - p.beta2.powi(self.steps as i32));
        for m in &self.vars {
            let Some(g) = grads.get(&m.var) else {
                continue;
            };
            let next_m = ((m.first.as_tensor() * p.beta1)? + (g * (1.0 - p.beta1))?)?;
            let next_v = ((m.second.as_tensor() * p.beta2)? + (g.sqr()? * (1.0 - p.beta2))?)?;
            let m_hat = (&next_m * scale_m)?;
            let v_hat = (&next_v * scale_v)?;
            let next = (m.var.as_tensor() * decay)?;
            let adjusted = (m_hat / (v_hat.sqrt()? + p.eps)?)?;
            let next = (next - (adjusted * lr)?)?;
            m.first.set(&next_m)?;
            m.second.set(&next_v)?;
            m.var.set(&next)?;
        }
        Ok(())
    }

    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The first and second moments of each variable, in the order given to [`AdamW::new`].
    pub fn moments(&self) -> Vec<(Tensor, Tensor)> {
        self.vars
            .iter()
            .map(|m| (m.first.as_tensor().clone(), m.second.as_tensor().clone()))
            .collect()
    }

    /// Restores the state [`AdamW::steps`] and [`AdamW::moments`] read.
    pub fn restore(&mut self, steps: usize, moments: &[(Tensor, Tensor)]) -> Result<()> {
        if moments.len() != self.vars.len() {
            return Err(Error::Model(format!(
                "optimiser state for {} variables, expected {}",
                moments.len(),
                self.vars.len()
            )));
        }
        for (m, (first, second)) in self.vars.iter().zip(moments) {
            m.first.set(first)?;
            m.second.set(second)?;
        }
        self.steps = steps;
        Ok(())
    }
}
