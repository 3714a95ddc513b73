import { Alert, Anchor, Button, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { Link, Navigate, useLocation, useNavigate } from "react-router";
import { problemCode, problemMessage } from "../../api/problem";
import { sessionFrom } from "../../api/session";
import { useAppDispatch, useAppSelector } from "../../hooks";
import { useLoginMutation } from "./authApi";
import { selectSession, signedIn } from "./authSlice";
import { CenteredCard } from "./CenteredCard";

export function LoginPage() {
  const session = useAppSelector(selectSession);
  const dispatch = useAppDispatch();
  const navigate = useNavigate();
  const location = useLocation();
  const [login, { isLoading, error }] = useLoginMutation();
  const form = useForm({
    initialValues: { login: "", password: "" },
    validate: {
      login: (v) => (v.trim() ? null : "Enter your username or email"),
      password: (v) => (v ? null : "Enter your password"),
    },
  });
  const from = (location.state as { from?: string } | null)?.from ?? "/";
  if (session) return <Navigate to={from} replace />;

  const submit = form.onSubmit(async (values) => {
    const result = await login({ login: values.login.trim(), password: values.password });
    if ("data" in result && result.data) {
      dispatch(signedIn(sessionFrom(result.data)));
      navigate(from, { replace: true });
    }
  });

  return (
    <CenteredCard>
      <Title order={2}>Log in</Title>
      <Text c="dimmed" size="sm">
        Short-lived Kubernetes clusters for your team.
      </Text>
      <form onSubmit={submit} noValidate>
        <Stack mt="md">
          {error && (
            <Alert color="red" title="Could not log in" role="alert">
              {problemCode(error) === "invalid_credentials"
                ? "Wrong username, email or password."
                : problemMessage(error)}
            </Alert>
          )}
          <TextInput label="Username or email" autoComplete="username" {...form.getInputProps("login")} />
          <PasswordInput label="Password" autoComplete="current-password" {...form.getInputProps("password")} />
          <Button type="submit" loading={isLoading}>
            Log in
          </Button>
          <Text size="sm">
            No account yet?{" "}
            <Anchor component={Link} to="/signup">
              Sign up
            </Anchor>
          </Text>
        </Stack>
      </form>
    </CenteredCard>
  );
}
