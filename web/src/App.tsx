import { Route, Routes } from "react-router";
import { Layout } from "./components/Layout";
import { LoginPage } from "./features/auth/LoginPage";
import { RequireAuth } from "./features/auth/RequireAuth";
import { SignupPage } from "./features/auth/SignupPage";
import { ClusterPage } from "./features/clusters/ClusterPage";
import { DashboardPage } from "./features/clusters/DashboardPage";
import { TeamPage } from "./features/teams/TeamPage";
import { TeamsPage } from "./features/teams/TeamsPage";
import { NotFound } from "./components/NotFound";

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/signup" element={<SignupPage />} />
      <Route element={<RequireAuth />}>
        <Route element={<Layout />}>
          <Route index element={<DashboardPage />} />
          <Route path="teams" element={<TeamsPage />} />
          <Route path="teams/:teamId" element={<TeamPage />} />
          <Route path="clusters/:clusterId" element={<ClusterPage />} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Route>
    </Routes>
  );
}
