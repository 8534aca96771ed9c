//! `polrec themes list|calibrate`: the policy-theme taxonomy and its tagging threshold.

use polrec::analysis::{run_calibrate, run_themes_list, ThemesArgs, ThemesCommand};

use super::load_classifier;

/// Runs `polrec themes`.
pub fn run(args: &ThemesArgs) -> anyhow::Result<()> {
    match &args.command {
        ThemesCommand::List(a) => run_themes_list(a, &mut std::io::stdout().lock())?,
        ThemesCommand::Calibrate(a) => {
            let classifier = load_classifier(a.model.as_deref())?;
            run_calibrate(
                a,
                &|t: &[&str]| classifier.embed(t),
                &mut std::io::stdout().lock(),
                &mut std::io::stderr(),
            )?;
        }
    }
    Ok(())
}
