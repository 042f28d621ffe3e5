"""Structure search: candidate networks, the Optuna study, results."""
