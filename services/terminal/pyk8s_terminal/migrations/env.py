from pyk8s_kit.migrations import run_env
from pyk8s_terminal.models import Base

run_env(Base.metadata)
