"""scikit-learn's own estimator checks (sklearn.utils.estimator_checks, Debian's 1.2).

All of check_estimator's checks run and pass. Checks that cannot apply pass trivially
because their condition is absent, and are listed in NOT_APPLICABLE with the reason."""
import pytest
from sklearn.utils.estimator_checks import (check_dataframe_column_names_consistency,
                                            check_n_features_in_after_fitting, parametrize_with_checks)

from digitnet import MLPClassifier

NOT_APPLICABLE = {
    "check_sample_weights_*, check_classifiers_one_label_sample_weights":
        "fit takes no sample_weight: digitnet's loss is the plain batch mean",
    "check_class_weight_*": "no class_weight parameter",
    "check_classifier_multioutput, check_classifiers_multilabel_*": "not a multi-output or multi-label classifier",
    "check_decision_proba_consistency": "no decision_function (predict_proba only)",
    "check_non_transformer_estimators_n_iter": "no max_iter parameter (epochs is exact: no convergence test)",
    "check_param_validation": "scikit-learn's own estimators only (the private _parameter_constraints)",
    "transformer, regressor, clusterer and outlier checks": "a classifier",
}


@parametrize_with_checks([MLPClassifier(), MLPClassifier(hidden_layer_sizes=(16,), loss="mse", normalize="zscore",
                                                         optimizer="adam", learning_rate=0.01, epochs=30)])
def test_sklearn_check(estimator, check):
    check(estimator)


def test_checks_outside_check_estimator():
    check_n_features_in_after_fitting("MLPClassifier", MLPClassifier())
    pytest.importorskip("pandas", reason="pandas is missing (apt-get install python3-pandas)")
    check_dataframe_column_names_consistency("MLPClassifier", MLPClassifier())
