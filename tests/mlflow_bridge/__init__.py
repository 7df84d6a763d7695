"""Tests of the storekit-mlflow bridge (plugins/mlflow) with real MLflow."""
