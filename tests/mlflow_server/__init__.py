"""MLflow's tracking server (real ``mlflow server`` processes) on storekit stores."""
