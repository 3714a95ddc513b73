import { useAppSelector } from "../../hooks";
import { useMeQuery } from "./authApi";
import { selectSession } from "./authSlice";

export function useCurrentUser() {
  const session = useAppSelector(selectSession);
  return useMeQuery(undefined, { skip: !session });
}
