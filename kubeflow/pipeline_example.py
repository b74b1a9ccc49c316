"""Example Kubeflow pipeline: deploy a model only when mlmon finds no high drift.

Compile with the Kubeflow Pipelines SDK (kfp >= 2):

    python kubeflow/pipeline_example.py pipeline.yaml

The drift check fails its step (exit code 3) when a feature reaches the
``fail_on`` severity, so the deploy step, which runs after it, never starts.
"""

import sys
from pathlib import Path

from kfp import compiler, components, dsl

HERE = Path(__file__).resolve().parent
drift_check = components.load_component_from_file(str(HERE / "component.yaml"))


@dsl.container_component
def deploy(model_uri: str) -> dsl.ContainerSpec:
    """Stand-in for your deployment step (e.g. kubectl apply / a KServe update)."""
    return dsl.ContainerSpec(image="bitnami/kubectl:1.31.4",
                             command=["sh", "-c"],
                             args=[f"echo deploying {model_uri}"])


@dsl.pipeline(name="gated-deploy", description="Deploy only when the batch shows no high drift")
def gated_deploy(profile: str, batch: str, model_uri: str, fail_on: str = "high") -> None:
    check = drift_check(profile=profile, batch=batch, fail_on=fail_on)
    deploy(model_uri=model_uri).after(check)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "gated_deploy.yaml"
    compiler.Compiler().compile(gated_deploy, out)
