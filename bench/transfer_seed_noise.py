"""How much does the target score move with the fine-tuning seed alone? The transfer experiment ran one seed; this runs
the no-intermediate baseline of each target with more seeds, same data and budget, and prints the spread.

    .venv/bin/python bench/transfer_seed_noise.py --experiment experiments/transfer --work-dir seed_noise_run \\
        --seeds 42 43 44 45

Writes <experiment>/seed_noise.csv."""
import argparse, json
from pathlib import Path
import pandas as pd
from esm_nb.transfer import TransferRunner, TransferBudget, corpus_experiment, DEFAULT_TARGETS

p = argparse.ArgumentParser()
p.add_argument('--experiment', default='experiments/transfer',
               help='report folder of the transfer run (its experiment.json gives the budget)')
p.add_argument('--work-dir', default='seed_noise_run')
p.add_argument('--seeds', type=int, nargs='+', default=[42, 43, 44, 45])
p.add_argument('--targets', nargs='+', default=list(DEFAULT_TARGETS))
p.add_argument('--target-train', type=int, default=200)
p.add_argument('--target-test', type=int, default=500)
a = p.parse_args()
spec = json.loads((Path(a.experiment)/'experiment.json').read_text())
budget = TransferBudget.from_dict({**spec['budget'], 'seeds': a.seeds})
_, targets = corpus_experiment(a.targets, [], target_train=a.target_train, target_test=a.target_test)
runner = TransferRunner(a.work_dir, {}, targets, spec['model_name'], budget, progress=False)
rows = [runner.run_pair(t, None, s) for t in a.targets for s in a.seeds]
df = pd.DataFrame(rows)
out = df.groupby(['target', 'metric']).score.agg(['count', 'mean', 'std', 'min', 'max']).reset_index()
out['range'] = out['max'] - out['min']
print(out.to_markdown(index=False, floatfmt='.4f'))
out.to_csv(Path(a.experiment)/'seed_noise.csv', index=False)
