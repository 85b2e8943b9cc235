"""The transfer experiment from the command line on real corpus samples (tiny model, tiny budgets): run, resume,
report."""
import json
import pandas as pd
from esm_nb.cli import main


def test_transfer_command_runs_resumes_and_reports(tiny_bert, tmp_path, capsys):
    args = ['transfer', '--work-dir', str(tmp_path/'work'), '--model', tiny_bert,
            '--targets', 'slo_sentiment', 'vader_tweets',
            '--sources', 'slo_topic', 'fortunes_de', 'vader_amazon_reviews',
            '--source-examples', '24', '--target-train', '24', '--target-test', '30', '--max-length', '24',
            '--source-epochs', '1', '--target-epochs', '1', '--report', str(tmp_path/'report')]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert 'ESM-LogME (AdamW ESMs)' in out and 'Report written' in out
    res = pd.read_csv(tmp_path/'report'/'results.csv')
    # slo_topic shares its texts with slo_sentiment: excluded from that pool, with the reason logged
    assert set(res[res.target == 'slo_sentiment'].source) == {'no_intermediate', 'fortunes_de', 'vader_amazon_reviews'}
    assert set(res[res.target == 'vader_tweets'].source) == {'no_intermediate', 'slo_topic', 'fortunes_de',
                                                             'vader_amazon_reviews'}
    assert 'shares' in out and 'slo_topic' in out
    assert set(res.metric) == {'accuracy', 'pearson_spearman'}
    ev = pd.read_csv(tmp_path/'report'/'evaluation.csv')
    assert set(ev.method) >= {'esm_logme', 'esm_logme_ridge', 'logme_tuned', 'logme_base', 'text_emb', 'vocab_overlap',
                              'random'}
    budget = json.loads((tmp_path/'report'/'experiment.json').read_text())['budget']
    assert budget['target']['max_length'] == 24 and budget['target']['epochs'] == 1
    assert budget['source']['batch_size'] == 16
    # every pair is stored with its budget
    run = json.loads(next((tmp_path/'work'/'runs').glob('*/*/seed42.json')).read_text())
    assert run['budget'] == budget and run['num_train'] == 24 and run['num_test'] == 30
    # resuming runs nothing new
    assert main(args) == 0
    assert '7 runs, 7 already done' in capsys.readouterr().out


def test_transfer_refuses_a_different_budget_and_bad_names(tiny_bert, tmp_path, capsys):
    base = ['transfer', '--work-dir', str(tmp_path/'w'), '--model', tiny_bert, '--targets', 'slo_sentiment',
            '--sources', 'fortunes_de', '--source-examples', '8', '--target-train', '12', '--target-test', '8',
            '--max-length', '16', '--source-epochs', '1', '--target-epochs', '1']
    assert main(base) == 0
    capsys.readouterr()
    assert main(base[:-1] + ['2']) == 2
    assert 'Use another work_dir' in capsys.readouterr().err
    assert main(['transfer', '--work-dir', str(tmp_path/'x'), '--targets', 'no_such_corpus']) == 2
    assert 'Unknown corpus' in capsys.readouterr().err
    assert main(['transfer', '--work-dir', str(tmp_path/'w'), '--model', tiny_bert, '--report-only',
                 '--targets', 'slo_sentiment', '--sources', 'fortunes_de', '--source-examples', '8',
                 '--target-train', '12', '--target-test', '8', '--max-length', '16',
                 '--source-epochs', '1', '--target-epochs', '1', '--report', str(tmp_path/'r')]) == 2
    assert 'at least 2 measured sources' in capsys.readouterr().err  # one source: nothing to rank
