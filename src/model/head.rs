//! The classification head: a linear layer over the pooled sentence embedding, with a
//! calibrated temperature.

use candle_core::{Module, Tensor};
use candle_nn::Linear;

use super::{Label, Prediction, Scores};
use crate::{Error, Result};

/// Maps pooled embeddings `[batch, hidden]` to label logits `[batch, 3]`.
pub struct Head {
    linear: Linear,
    temperature: f32,
}

impl Head {
    /// A head from its weight `[3, hidden]`, bias `[3]` and temperature.
    pub fn new(weight: Tensor, bias: Tensor, temperature: f32) -> Result<Head> {
        if weight.dim(0)? != Label::ALL.len() || bias.dims() != [Label::ALL.len()] {
            return Err(Error::Model(format!(
                "head has shape {:?}/{:?}, expected [3, hidden]/[3]",
                weight.dims(),
                bias.dims()
            )));
        }
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(Error::Model(format!(
                "temperature {temperature} is not positive"
            )));
        }
        Ok(Head {
            linear: Linear::new(weight, Some(bias)),
            temperature,
        })
    }

    /// Raw logits (before temperature).
    pub fn logits(&self, pooled: &Tensor) -> Result<Tensor> {
        Ok(self.linear.forward(pooled)?)
    }

    /// The calibrated temperature.
    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    /// The weight and bias tensors.
    pub fn tensors(&self) -> (Tensor, Tensor) {
        (
            self.linear.weight().clone(),
            self.linear.bias().expect("head has a bias").clone(),
        )
    }

    /// Calibrated predictions for pooled embeddings `[n, hidden]`.
    ///
    /// The logits are computed row by row in a fixed order rather than by one matrix
    /// product, whose summation order (and so rounding) changes with the number of
    /// rows: a sentence's scores then do not depend on how many others share its call.
    pub fn predict(&self, pooled: &Tensor) -> Result<Vec<Prediction>> {
        let weight: Vec<Vec<f32>> = self.linear.weight().to_vec2()?;
        let bias: Vec<f32> = match self.linear.bias() {
            Some(b) => b.to_vec1()?,
            None => vec![0.0; weight.len()],
        };
        let rows: Vec<Vec<f32>> = pooled.to_vec2()?;
        Ok(rows
            .iter()
            .map(|row| {
                let logits: Vec<f32> = weight
                    .iter()
                    .zip(&bias)
                    .map(|(w, b)| {
                        (b + w.iter().zip(row).map(|(w, x)| w * x).sum::<f32>()) / self.temperature
                    })
                    .collect();
                prediction_from_logits(&logits)
            })
            .collect())
    }
}

/// Softmax over three logits, and the label with the highest probability.
pub fn prediction_from_logits(logits: &[f32]) -> Prediction {
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    let p: Vec<f32> = exp.iter().map(|e| e / sum).collect();
    let best = (0..p.len()).fold(0, |b, i| if p[i] > p[b] { i } else { b });
    Prediction {
        label: Label::ALL[best],
        scores: Scores {
            call_to_action: p[0],
            commitment: p[1],
            context: p[2],
        },
    }
}
