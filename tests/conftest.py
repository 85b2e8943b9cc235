import pytest
from esm_nb.embed import make_tiny_bert


@pytest.fixture(scope='session')
def tiny_bert(tmp_path_factory):
    "A small random BERT and tokenizer written to disk once per test session."
    return make_tiny_bert(tmp_path_factory.mktemp('models') / 'tiny-bert')
